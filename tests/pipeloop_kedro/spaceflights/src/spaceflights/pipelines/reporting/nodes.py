import matplotlib.pyplot as plt
import pandas as pd
import plotly.graph_objs as go


def compare_passenger_capacity_exp(preprocessed_shuttles: pd.DataFrame) -> pd.DataFrame:
    return (
        preprocessed_shuttles.groupby(["shuttle_type"])
        .mean(numeric_only=True)
        .reset_index()
    )


def compare_passenger_capacity_go(preprocessed_shuttles: pd.DataFrame) -> go.Figure:
    data_frame = (
        preprocessed_shuttles.groupby(["shuttle_type"])
        .mean(numeric_only=True)
        .reset_index()
    )
    fig = go.Figure(
        [go.Bar(x=data_frame["shuttle_type"], y=data_frame["passenger_capacity"])]
    )
    return fig


def create_confusion_matrix(companies: pd.DataFrame):
    actuals = [0, 1, 0, 0, 1, 1, 1, 0, 1, 0, 1]
    predicted = [1, 1, 0, 1, 0, 1, 0, 0, 0, 1, 1]
    matrix = pd.crosstab(pd.Series(actuals, name="Actual"),
                         pd.Series(predicted, name="Predicted"))
    fig, ax = plt.subplots()
    ax.imshow(matrix.to_numpy(), cmap="Blues")
    ax.set_xlabel("Predicted")
    ax.set_ylabel("Actual")
    return fig
