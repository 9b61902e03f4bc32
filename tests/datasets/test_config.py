"""ConfigLoader: base/env overlay, sub-folders, runtime parameters, and clear errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pipeloop.datasets import MemoryDataset
from pipeloop.datasets.config import ConfigLoader, catalog_from_conf
from pipeloop.datasets.json import JSONDataset
from pipeloop.errors import ConfigError


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    root = tmp_path / "conf"
    write(root, "base/catalog.yml", """
        cars:
          type: JSONDataset
          filepath: data/cars.json
        boats:
          type: MemoryDataset
    """)
    write(root, "base/parameters.yml", """
        model:
          lr: 0.1
          layers: {n: 2, size: 8}
        seed: 1
    """)
    write(root, "base/credentials.yml", """
        db: {user: base_user, password: base_pw}
        api: {token: base_token}
    """)
    write(root, "local/credentials.yml", """
        db: {user: local_user, password: local_pw}
    """)
    write(root, "prod/catalog.yml", """
        cars:
          type: MemoryDataset
    """)
    write(root, "prod/parameters.yml", """
        model:
          layers: {n: 4}
    """)
    return root


# -- reading and overlaying -----------------------------------------------------------------


def test_default_env_is_local_overlaying_base(conf: Path) -> None:
    loader = ConfigLoader(conf)
    assert loader.env == "local"
    assert loader.credentials == {
        "db": {"user": "local_user", "password": "local_pw"},
        "api": {"token": "base_token"},
    }
    assert loader.catalog["cars"] == {"type": "JSONDataset", "filepath": "data/cars.json"}


def test_env_overlays_catalog_per_top_level_key(conf: Path) -> None:
    catalog = ConfigLoader(conf, "prod").catalog
    assert catalog == {"cars": {"type": "MemoryDataset"}, "boats": {"type": "MemoryDataset"}}


def test_env_deep_merges_parameters(conf: Path) -> None:
    parameters = ConfigLoader(conf, "prod").parameters
    assert parameters == {"model": {"lr": 0.1, "layers": {"n": 4, "size": 8}}, "seed": 1}


def test_getitem_matches_properties(conf: Path) -> None:
    loader = ConfigLoader(conf, "prod")
    assert loader["catalog"] == loader.catalog
    assert loader["parameters"] == loader.parameters
    assert loader["credentials"] == loader.credentials
    with pytest.raises(KeyError, match="No configuration 'spark'"):
        loader["spark"]


def test_results_are_copies(conf: Path) -> None:
    loader = ConfigLoader(conf)
    loader.parameters["model"]["lr"] = 99
    assert loader.parameters["model"]["lr"] == 0.1


def test_sub_folders_and_name_variants_are_read(tmp_path: Path) -> None:
    root = tmp_path / "conf"
    write(root, "base/catalog.yml", "a: {type: MemoryDataset}\n")
    write(root, "base/catalog_extra.yaml", "b: {type: MemoryDataset}\n")
    write(root, "base/catalog/raw.yml", "c: {type: MemoryDataset}\n")
    write(root, "base/catalog/deeper/more.yml", "d: {type: MemoryDataset}\n")
    write(root, "base/pipelines/x/catalog_x.yml", "e: {type: MemoryDataset}\n")
    write(root, "base/pipelines/x/parameters_x.yml", "x: {k: 1}\n")
    write(root, "base/parameters/model.yml", "model: {lr: 1}\n")
    write(root, "base/notes.yml", "f: {type: MemoryDataset}\n")
    write(root, "base/catalog.txt", "g: {type: MemoryDataset}\n")
    write(root, "base/.hidden/catalog.yml", "h: {type: MemoryDataset}\n")
    write(root, "base/catalog/.raw_backup.yml", "i: {type: MemoryDataset}\n")
    loader = ConfigLoader(root)
    assert sorted(loader.catalog) == ["a", "b", "c", "d", "e"]
    assert loader.parameters == {"x": {"k": 1}, "model": {"lr": 1}}
    assert loader.credentials == {}


def test_underscore_keys_are_dropped(tmp_path: Path) -> None:
    root = tmp_path / "conf"
    write(root, "base/catalog.yml", """
        _json: &json
          type: JSONDataset
        cars:
          <<: *json
          filepath: cars.json
    """)
    write(root, "base/catalog_more.yml", """
        _json: {type: JSONDataset}
    """)
    assert ConfigLoader(root).catalog == {"cars": {"type": "JSONDataset", "filepath": "cars.json"}}


def test_empty_files_are_empty_config(tmp_path: Path) -> None:
    root = tmp_path / "conf"
    write(root, "base/catalog.yml", "")
    write(root, "base/parameters.yml", "# nothing yet\n")
    loader = ConfigLoader(root)
    assert loader.catalog == {}
    assert loader.parameters == {}


def test_custom_base_and_default_envs(conf: Path) -> None:
    write(conf, "common/catalog.yml", "z: {type: MemoryDataset}\n")
    loader = ConfigLoader(conf, base_env="common", default_run_env="prod")
    assert loader.env == "prod"
    assert loader.catalog == {"z": {"type": "MemoryDataset"}, "cars": {"type": "MemoryDataset"}}


def test_env_equal_to_base_reads_base_once(conf: Path) -> None:
    assert ConfigLoader(conf, "base").parameters["model"]["layers"] == {"n": 2, "size": 8}


# -- runtime parameters ---------------------------------------------------------------------


def test_runtime_params_deep_merge_with_dotted_keys(conf: Path) -> None:
    loader = ConfigLoader(
        conf, "prod", runtime_params={"model.lr": 0.5, "model.layers.size": 16, "seed": 2}
    )
    assert loader.parameters == {
        "model": {"lr": 0.5, "layers": {"n": 4, "size": 16}},
        "seed": 2,
    }


def test_runtime_params_nested_mapping_merges(conf: Path) -> None:
    loader = ConfigLoader(conf, runtime_params={"model": {"layers": {"n": 9}}})
    assert loader.parameters["model"] == {"lr": 0.1, "layers": {"n": 9, "size": 8}}


@pytest.mark.parametrize("key", ["model.", ".lr", "a..b", ""])
def test_bad_runtime_param_name_is_an_error(conf: Path, key: str) -> None:
    with pytest.raises(ConfigError, match="Invalid runtime parameter name"):
        _ = ConfigLoader(conf, runtime_params={key: 1}).parameters


# -- errors ---------------------------------------------------------------------------------


def test_missing_conf_source_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"Configuration folder '.*nowhere' not found"):
        ConfigLoader(tmp_path / "nowhere")


def test_missing_base_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    with pytest.raises(ConfigError, match=r"Base configuration folder '.*conf/base' not found"):
        ConfigLoader(tmp_path / "conf")


def test_missing_local_env_is_fine(tmp_path: Path) -> None:
    root = tmp_path / "conf"
    write(root, "base/catalog.yml", "a: {type: MemoryDataset}\n")
    assert ConfigLoader(root).catalog == {"a": {"type": "MemoryDataset"}}
    assert ConfigLoader(root, "local").catalog == {"a": {"type": "MemoryDataset"}}


def test_missing_other_env_is_an_error_naming_the_folder(conf: Path) -> None:
    with pytest.raises(ConfigError) as info:
        ConfigLoader(conf, "staging")
    assert f"'{conf / 'staging'}'" in str(info.value)
    assert "environment 'staging'" in str(info.value)


def test_duplicate_key_in_one_env_names_key_and_both_files(conf: Path) -> None:
    write(conf, "base/catalog/more.yml", "cars: {type: MemoryDataset}\n")
    with pytest.raises(ConfigError) as info:
        _ = ConfigLoader(conf).catalog
    message = str(info.value)
    assert "Duplicate catalog key 'cars'" in message
    assert str(conf / "base" / "catalog.yml") in message
    assert str(conf / "base" / "catalog" / "more.yml") in message


def test_duplicate_parameters_key_in_one_env_is_an_error(conf: Path) -> None:
    write(conf, "prod/parameters_more.yml", "model: {lr: 3}\n")
    with pytest.raises(ConfigError, match="Duplicate parameters key 'model'"):
        _ = ConfigLoader(conf, "prod").parameters


def test_same_key_in_base_and_env_is_not_a_duplicate(conf: Path) -> None:
    assert ConfigLoader(conf, "prod").catalog["cars"] == {"type": "MemoryDataset"}


def test_yaml_syntax_error_names_file_and_line(conf: Path) -> None:
    path = write(conf, "base/catalog_bad.yml", """
        ok:
          type: MemoryDataset
        bad: [unclosed
        also: 1
    """)
    with pytest.raises(ConfigError) as info:
        _ = ConfigLoader(conf).catalog
    message = str(info.value)
    assert message.startswith(f"Invalid YAML in '{path}', line ")
    line = int(message.split("line ")[1].split(",")[0])
    assert line in (4, 5, 6)
    assert info.value.__cause__ is None


def test_yaml_error_never_quotes_the_file(conf: Path) -> None:
    write(conf, "local/credentials.yml", "db:\n  password: s3cr3t-value\n  user: [x\n")
    with pytest.raises(ConfigError) as info:
        _ = ConfigLoader(conf).credentials
    assert "s3cr3t-value" not in str(info.value)
    assert "credentials.yml" in str(info.value)


def test_unsafe_yaml_tags_are_refused(conf: Path) -> None:
    write(conf, "base/catalog_evil.yml", "x: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ConfigError, match=r"Invalid YAML in .*catalog_evil\.yml', line 1"):
        _ = ConfigLoader(conf).catalog


def test_file_not_holding_a_mapping_is_an_error(conf: Path) -> None:
    path = write(conf, "base/parameters_list.yml", "- 1\n- 2\n")
    with pytest.raises(ConfigError, match=f"'{path}' must hold a mapping.*not list"):
        _ = ConfigLoader(conf).parameters


def test_repr_does_not_show_credentials(conf: Path) -> None:
    loader = ConfigLoader(conf)
    _ = loader.credentials  # loaded and cached
    assert "local_pw" not in repr(loader)
    assert repr(loader) == f"ConfigLoader(conf_source='{conf}', env='local', base_env='base')"


# -- catalog_from_conf ----------------------------------------------------------------------


async def test_catalog_from_conf_builds_datasets_and_parameters(conf: Path) -> None:
    write(conf, "base/catalog_users.yml", f"""
        users:
          type: {__name__}.CredentialsRecorder
          credentials: db
        "{{name}}_mem":
          type: MemoryDataset
    """)
    catalog = catalog_from_conf(ConfigLoader(conf, runtime_params={"model.lr": 0.3}))
    assert isinstance(catalog["cars"], JSONDataset)
    assert isinstance(catalog["boats"], MemoryDataset)
    assert isinstance(catalog["x_mem"], MemoryDataset)
    assert catalog["users"].credentials == {  # type: ignore[attr-defined]
        "user": "local_user",
        "password": "local_pw",
    }
    assert "local_pw" not in repr(catalog)
    assert await catalog.load("params:model.lr") == 0.3
    assert await catalog.load("params:model.layers.n") == 2
    assert (await catalog.load("parameters"))["seed"] == 1


def test_catalog_from_conf_passes_versions(tmp_path: Path) -> None:
    root = tmp_path / "conf"
    write(root, "base/catalog.yml", f"""
        a:
          type: JSONDataset
          filepath: {tmp_path}/a.json
          versioned: true
    """)
    catalog = catalog_from_conf(ConfigLoader(root), load_versions={"a": "v0"}, save_version="v1")
    assert tuple(catalog["a"].version) == ("v0", "v1")  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="'ghost'"):
        catalog_from_conf(ConfigLoader(root), load_versions={"ghost": "v0"})


class CredentialsRecorder(MemoryDataset):
    def __init__(self, credentials: dict[str, str]) -> None:
        super().__init__()
        self.credentials = credentials


# -- interpolation (OmegaConf) --------------------------------------------------------------


def test_interpolation_within_and_across_files(tmp_path: Path) -> None:
    root = tmp_path / "conf"
    write(root, "base/parameters.yml", """
        data: {size: 10}
        model: {test_size: "${data.size}", name: "m-${data.size}"}
    """)
    write(root, "base/parameters/more.yml", "split: ${model.test_size}\n")
    assert ConfigLoader(root).parameters == {
        "data": {"size": 10}, "model": {"test_size": 10, "name": "m-10"}, "split": 10,
    }


def test_underscore_templates_are_interpolated_then_left_out(tmp_path: Path) -> None:
    root = tmp_path / "conf"
    write(root, "base/catalog.yml", """
        _root: data/01_raw
        _json: {type: JSONDataset}
        cars: {type: "${_json.type}", filepath: "${_root}/cars.json"}
    """)
    write(root, "base/catalog/boats.yml", "boats: ${_json}\n")
    assert ConfigLoader(root).catalog == {
        "cars": {"type": "JSONDataset", "filepath": "data/01_raw/cars.json"},
        "boats": {"type": "JSONDataset"},
    }


def test_globals_are_shared_across_kinds_and_env_overrides_them(tmp_path: Path) -> None:
    root = tmp_path / "conf"
    write(root, "base/globals.yml", "bucket: s3://base\ntypes: {json: JSONDataset}\n")
    write(root, "prod/globals_prod.yml", "bucket: s3://prod\n")
    write(root, "base/catalog.yml", """
        cars: {type: "${globals:types.json}", filepath: "${globals:bucket}/cars.json"}
    """)
    write(root, "base/parameters.yml", "where: ${globals:bucket}\nn: ${globals:missing, 3}\n")
    assert ConfigLoader(root).catalog["cars"] == {"type": "JSONDataset",
                                                  "filepath": "s3://base/cars.json"}
    prod = ConfigLoader(root, "prod")
    assert prod.parameters == {"where": "s3://prod", "n": 3}
    assert prod["globals"] == {"bucket": "s3://prod", "types": {"json": "JSONDataset"}}


def test_unknown_global_is_an_error_naming_file_and_key(tmp_path: Path) -> None:
    root = tmp_path / "conf"
    write(root, "base/globals.yml", "bucket: s3://x\n")
    path = write(root, "base/catalog.yml", "cars:\n  filepath: ${globals:buckt}/c.json\n")
    with pytest.raises(ConfigError) as info:
        _ = ConfigLoader(root).catalog
    message = str(info.value)
    assert f"'{path}', line 1 (entry 'cars')" in message
    assert "key 'cars.filepath'" in message
    assert "buckt" in message


def test_runtime_params_resolver_with_default(tmp_path: Path) -> None:
    root = tmp_path / "conf"
    write(root, "base/catalog.yml", """
        cars: {type: JSONDataset, filepath: "${runtime_params:folder, data}/cars.json"}
    """)
    write(root, "base/parameters.yml", "seed: ${runtime_params:seed, 1}\n")
    assert ConfigLoader(root).catalog["cars"]["filepath"] == "data/cars.json"
    loader = ConfigLoader(root, runtime_params={"folder": "/mnt", "seed": 7})
    assert loader.catalog["cars"]["filepath"] == "/mnt/cars.json"
    assert loader.parameters == {"seed": 7, "folder": "/mnt"}  # as in Kedro


def test_runtime_params_are_seen_by_parameter_interpolation(tmp_path: Path) -> None:
    root = tmp_path / "conf"
    write(root, "base/parameters.yml", "lr: 0.1\nopt: {lr: '${lr}'}\n")
    assert ConfigLoader(root, runtime_params={"lr": 0.5}).parameters == {
        "lr": 0.5, "opt": {"lr": 0.5}}


def test_runtime_params_resolver_is_refused_in_globals(tmp_path: Path) -> None:
    root = tmp_path / "conf"
    path = write(root, "base/globals.yml", "bucket: ${runtime_params:b, x}\n")
    write(root, "base/parameters.yml", "where: ${globals:bucket}\n")
    with pytest.raises(ConfigError, match="runtime_params resolver cannot be used in globals"
                       ) as info:
        _ = ConfigLoader(root).parameters
    assert str(path) in str(info.value)


def test_custom_resolvers(tmp_path: Path) -> None:
    root = tmp_path / "conf"
    write(root, "base/parameters.yml", "total: ${add:1,2,3}\n")
    loader = ConfigLoader(root, custom_resolvers={"add": lambda *xs: sum(xs)})
    assert loader.parameters == {"total": 6}
    # Registered only while that loader resolves: another loader does not see them.
    with pytest.raises(ConfigError, match="add"):
        _ = ConfigLoader(root).parameters


def test_invalid_custom_resolver_is_an_error(conf: Path) -> None:
    with pytest.raises(ConfigError, match="custom resolver 'x'"):
        ConfigLoader(conf, custom_resolvers={"x": 3})  # type: ignore[dict-item]


def test_environment_variables_in_credentials_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPELOOP_TEST_TOKEN", "tok-from-env")
    root = tmp_path / "conf"
    write(root, "base/credentials.yml", "api: {token: '${oc.env:PIPELOOP_TEST_TOKEN}'}\n")
    path = write(root, "base/parameters.yml", "token: ${oc.env:PIPELOOP_TEST_TOKEN}\n")
    loader = ConfigLoader(root)
    assert loader.credentials == {"api": {"token": "tok-from-env"}}
    with pytest.raises(ConfigError) as info:
        _ = loader.parameters
    assert str(path) in str(info.value)
    assert "oc.env" in str(info.value)
    assert "tok-from-env" not in str(info.value)


def test_unresolvable_reference_names_file_line_and_key(tmp_path: Path) -> None:
    root = tmp_path / "conf"
    write(root, "base/parameters.yml", "a: 1\n")
    path = write(root, "base/parameters_model.yml", "model:\n  lr: ${nowhere.lr}\n")
    with pytest.raises(ConfigError) as info:
        _ = ConfigLoader(root).parameters
    message = str(info.value)
    assert f"'{path}', line 1 (entry 'model')" in message
    assert "key 'model.lr'" in message
    assert "'${nowhere.lr}'" in message


def test_unresolvable_credentials_never_show_secrets(tmp_path: Path) -> None:
    root = tmp_path / "conf"
    write(root, "base/credentials.yml", "db: {password: hunter2-secret, user: '${nobody}'}\n")
    with pytest.raises(ConfigError) as info:
        _ = ConfigLoader(root).credentials
    assert "hunter2-secret" not in str(info.value)
    assert "credentials.yml" in str(info.value)


def test_escaped_interpolation_is_kept_literally(tmp_path: Path) -> None:
    root = tmp_path / "conf"
    write(root, "base/parameters.yml", "text: '\\${not.this}'\n")
    assert ConfigLoader(root).parameters == {"text": "${not.this}"}


# -- runtime parameters must match ----------------------------------------------------------


def test_unknown_runtime_param_is_an_error_with_a_suggestion(conf: Path) -> None:
    with pytest.raises(ConfigError) as info:
        _ = ConfigLoader(conf, runtime_params={"model.lrr": 0.5}).parameters
    message = str(info.value)
    assert "Runtime parameter 'model.lrr'" in message
    assert "Did you mean 'model.lr'" in message


def test_runtime_param_under_a_new_key_is_an_error(conf: Path) -> None:
    with pytest.raises(ConfigError, match=r"'new\.a\.b'"):
        _ = ConfigLoader(conf, runtime_params={"new.a.b": 1}).parameters


def test_runtime_param_read_only_by_the_catalog_is_accepted(tmp_path: Path) -> None:
    root = tmp_path / "conf"
    write(root, "base/catalog.yml", "c: {type: JSONDataset, filepath: '${runtime_params:dir}/c'}\n")
    write(root, "base/parameters.yml", "seed: 1\n")
    loader = ConfigLoader(root, runtime_params={"dir": "/tmp"})
    assert loader.parameters == {"seed": 1, "dir": "/tmp"}
    assert loader.catalog["c"]["filepath"] == "/tmp/c"


# -- YAML hardening -------------------------------------------------------------------------


def test_key_given_twice_in_one_file_is_an_error(conf: Path) -> None:
    path = write(conf, "base/parameters_dup.yml", "opt:\n  lr: 1\n  lr: 2\n")
    with pytest.raises(ConfigError) as info:
        _ = ConfigLoader(conf).parameters
    assert str(info.value) == f"Invalid YAML in '{path}', line 3, column 3: the key 'lr' is " \
        "given twice."


def test_merge_keys_may_be_overridden(tmp_path: Path) -> None:
    root = tmp_path / "conf"
    write(root, "base/catalog.yml", """
        _base: &base {type: JSONDataset, filepath: a.json}
        cars:
          <<: *base
          filepath: cars.json
    """)
    assert ConfigLoader(root).catalog == {"cars": {"type": "JSONDataset",
                                                   "filepath": "cars.json"}}


BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)


def test_alias_bomb_is_refused(conf: Path) -> None:
    assert len(BOMB) < 700
    path = write(conf, "base/parameters_bomb.yml", BOMB)
    with pytest.raises(ConfigError, match="alias") as info:
        _ = ConfigLoader(conf).parameters
    assert str(info.value).startswith(f"Invalid YAML in '{path}', line ")


def test_recursive_alias_is_refused(conf: Path) -> None:
    write(conf, "base/parameters_loop.yml", "a: &a [1, *a]\n")
    with pytest.raises(ConfigError, match="refers to a value that contains it"):
        _ = ConfigLoader(conf).parameters


def test_bad_tagged_secret_is_not_shown(conf: Path) -> None:
    path = write(conf, "local/credentials.yml", "db:\n  password: !!int s3cr3t-pin\n")
    with pytest.raises(ConfigError) as info:
        _ = ConfigLoader(conf).credentials
    message = str(info.value)
    assert "s3cr3t-pin" not in message
    assert message.startswith(f"Invalid YAML in '{path}', line 2")
    assert "!!int" in message
    # Tracebacks show no chained error, and the one that quoted the value is not kept.
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert info.value.__context__ is not None and info.value.__context__.__context__ is None


def test_exponent_floats_are_floats(tmp_path: Path) -> None:
    root = tmp_path / "conf"
    write(root, "base/parameters.yml", "lr: 1e-3\nbig: 2E+5\nname: e5\nversion: 1.2.3\n")
    assert ConfigLoader(root).parameters == {"lr": 0.001, "big": 200000.0, "name": "e5",
                                             "version": "1.2.3"}
