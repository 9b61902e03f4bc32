"""The engine: nodes, pipelines, hooks, the scheduler and the runner policies."""
