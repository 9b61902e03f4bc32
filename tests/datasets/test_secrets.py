"""Secrets masking for library users: ``SecretMasker``, ``MaskSecretsFilter``,
``catalog.secrets`` and the credentials values that hide themselves in ``repr``.

Each test plants a secret, produces output the way real code does (``repr``, ``%r``,
``json.dumps``, nested reprs of exceptions, tracebacks, warnings) and searches the output
for the secret in every form it could take there: escaped texts are decoded back (with
``ast.literal_eval``, ``json.loads``, ``unquote``) before searching, so a secret hidden only
by an escape would still be found.
"""

from __future__ import annotations

import ast
import io
import json
import logging
import threading
import urllib.parse
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeloop import AbstractDataset, DataCatalog, MaskSecretsFilter, SecretMasker
from pipeloop.datasets.config import ConfigLoader, catalog_from_conf
from pipeloop.datasets.secrets import masking_log_records, masking_warnings, secret_strings

PASSWORD = "hunter2-PLANTED-password"
# Each escapes differently: a backslash, both quotes, non-ASCII (BMP and astral), a newline.
NASTY = [
    "back\\slash-PLANTED",
    "it's-PLANTED",
    'say-"PLANTED"',
    "both'\"-\\PLANTED",
    "caf\u00e9-\u20ac-PLANTED-\U0001f511",
    "line\nbreak-PLANTED",
]
SECRETS = [PASSWORD, *NASTY]

# Secret text without '*' (a secret made of stars could be rebuilt from the mask itself).
secret_text = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="*"), min_size=4, max_size=12
)


def leaks(secret: str, text: str) -> bool:
    """Whether ``text`` shows ``secret``, raw or in any escaped form this module plants."""
    return secret in text or any(form in text for form in escaped_forms(secret))


def escaped_forms(secret: str) -> set[str]:
    """The forms of ``secret`` inside the texts the tests produce, quotes stripped."""
    forms = {repr(secret)[1:-1], ascii(secret)[1:-1], json.dumps(secret)[1:-1],
             json.dumps(secret, ensure_ascii=False)[1:-1], urllib.parse.quote(secret, safe=""),
             repr(secret.encode())[2:-1]}
    forms |= {repr(form)[1:-1] for form in set(forms)}
    return forms


# -- SecretMasker ------------------------------------------------------------------------------


@pytest.mark.parametrize("secret", SECRETS)
def test_every_quoted_form_is_masked_and_the_text_stays_readable(secret: str) -> None:
    masker = SecretMasker([secret])
    error = ConnectionError(f"login refused for {secret!r} at db.example.com")
    decoded = {
        "raw": masker.mask(f"password={secret};"),
        "repr": ast.literal_eval(masker.mask(repr(secret))),
        "ascii": ast.literal_eval(masker.mask(ascii(secret))),
        "repr of a dict": ast.literal_eval(masker.mask(repr({"password": secret})))["password"],
        "json": json.loads(masker.mask(json.dumps({"password": secret})))["password"],
        "json unicode": json.loads(masker.mask(json.dumps([secret], ensure_ascii=False)))[0],
        "json in json": json.loads(json.loads(masker.mask(json.dumps(json.dumps(secret))))),
        # Dask's "Exception: %r" of repr(exc), whose message holds a repr: three levels.
        "%r of repr(exc)": ast.literal_eval(masker.mask(f"{repr(error)!r}")),
        "bytes": ast.literal_eval(masker.mask(repr(secret.encode()))).decode(),
        "url": urllib.parse.unquote(masker.mask(f"db://user:{urllib.parse.quote(secret)}@h")),
        "url plus": urllib.parse.unquote_plus(masker.mask(urllib.parse.quote_plus(secret))),
    }
    for how, text in decoded.items():
        assert secret not in text, (how, text)
        assert "***" in text, (how, text)
    assert decoded["raw"] == "password=***;"
    assert decoded["repr of a dict"] == "***"
    assert "login refused for" in decoded["%r of repr(exc)"]


def decoded(text: str, decode: Any) -> str:
    """``text`` decoded; as it is when masking cut an escape sequence in two (a secret that
    begins with the tail of an escape, as ``0000`` after ``\\x80``): no decoder can then
    recover what the mask hid."""
    try:
        return str(decode(text)[0])
    except (SyntaxError, ValueError):
        return text


@settings(deadline=None)
@given(secret=secret_text, before=st.text(max_size=5), after=st.text(max_size=5))
def test_any_secret_is_masked_in_repr_and_json(secret: str, before: str, after: str) -> None:
    masker = SecretMasker([secret])
    value = [before + secret + after]
    for text, decode in ((repr(value), ast.literal_eval), (ascii(value), ast.literal_eval),
                         (json.dumps(value), json.loads),
                         (json.dumps(value, ensure_ascii=False), json.loads)):
        masked = masker.mask(text)
        assert "***" in masked
        assert not leaks(secret, masked), (text, masked)
        assert secret not in decoded(masked, decode), (text, masked)


def test_text_without_secrets_is_left_alone() -> None:
    masker = SecretMasker([PASSWORD])
    text = "Loading data from `rows` (RemoteDataset)... 'quoted' \\ \"double\" caf\u00e9"
    assert masker.mask(text) == text
    assert SecretMasker().mask(PASSWORD) == PASSWORD
    assert not SecretMasker() and SecretMasker([PASSWORD])


def test_the_longest_secret_wins_and_secrets_can_be_added() -> None:
    masker = SecretMasker(["user-name"])
    masker.add(["user-name-and-more"])
    assert masker.mask("user-name-and-more / user-name") == "*** / ***"
    assert masker.secrets == {"user-name", "user-name-and-more"}


def test_short_strings_and_booleans_are_not_secrets() -> None:
    # Hiding every "eu" or "s3" would garble every message.
    assert secret_strings({"region": "eu", "ssl": True, "pin": 73914682, "ratio": 0.25,
                           "nested": {"token": "tok-PLANTED"}, "list": ["abcd", "ab"]}) == {
        "73914682", "0.25", "tok-PLANTED", "abcd"}
    assert SecretMasker(["eu", "s3"]).mask("eu s3") == "eu s3"


def test_mask_data_masks_every_string() -> None:
    masker = SecretMasker([PASSWORD])
    data = {"error": f"refused {PASSWORD}", "events": [{PASSWORD: 1}, (PASSWORD, 2)], "n": 3}
    assert masker.mask_data(data) == {"error": "refused ***", "events": [{"***": 1}, ["***", 2]],
                                      "n": 3}


def test_masking_while_secrets_are_added_from_another_thread() -> None:
    masker = SecretMasker([PASSWORD])
    stop = threading.Event()

    def add() -> None:
        for index in range(200):
            masker.add([f"other-secret-{index}"])
        stop.set()

    thread = threading.Thread(target=add)
    thread.start()
    while not stop.is_set():
        assert masker.mask(repr(PASSWORD)) == "'***'"
    thread.join()
    assert masker.mask("other-secret-199") == "***"


# -- the catalog and its datasets --------------------------------------------------------------


class Remote(AbstractDataset):
    """A custom dataset that keeps copies of its credentials and shows them, as user code
    does."""

    def __init__(self, host: str, credentials: dict[str, Any]) -> None:
        self._host = host
        self._copy = dict(credentials)
        self._spread = {**credentials}
        self._password = credentials["password"]

    def url(self) -> str:
        return f"db://{self._copy['user']}:{self._password}@{self._host}"

    def _load(self) -> Any:
        return self.url()

    def _save(self, data: Any) -> None:
        raise NotImplementedError

    def _describe(self) -> dict[str, Any]:
        return {"host": self._host, "copy": self._copy, "spread": self._spread,
                "password": self._password, "as_text": f"{self._copy}"}


CREDENTIALS = {"db": {"user": "planted-user", "password": NASTY[3], "pin": 73914682}}
CONFIG = {
    "rows": {"type": f"{__name__}.Remote", "host": "db.example.com", "credentials": "db"},
    "inline": {"type": f"{__name__}.Remote", "host": "other.example.com",
               "credentials": {"user": "inline-user", "password": "inline-PLANTED"}},
}
PLANTED = ("planted-user", NASTY[3], "73914682", "inline-user", "inline-PLANTED")


def test_a_catalog_built_from_config_knows_its_secrets() -> None:
    catalog = DataCatalog.from_config(CONFIG, CREDENTIALS)
    assert catalog.secrets == set(PLANTED)
    assert catalog.shallow_copy().secrets == catalog.secrets
    assert DataCatalog().secrets == frozenset()


def test_a_catalog_from_a_conf_folder_knows_tagged_and_escaped_secrets(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    (tmp_path / "local").mkdir()
    (tmp_path / "base" / "catalog.yml").write_text(
        f"rows:\n  type: {__name__}.Remote\n  host: h\n  credentials: db\n")
    (tmp_path / "local" / "credentials.yml").write_text(
        "db:\n  user: planted-user\n  password: " + json.dumps(NASTY[3]) + "\n"
        '  pin: !!int "73914682"\n', encoding="utf-8")
    catalog = catalog_from_conf(ConfigLoader(tmp_path))
    assert catalog.secrets == {"planted-user", NASTY[3], "73914682"}
    with captured(masked_by=MaskSecretsFilter(catalog.secrets)) as out:
        logging.getLogger("my_project").info("%r", catalog["rows"])
    for secret in catalog.secrets:
        assert not leaks(secret, out.getvalue()), out.getvalue()


def test_copies_of_credentials_in_a_datasets_repr_are_masked_where_it_is_shown() -> None:
    catalog = DataCatalog.from_config(CONFIG, CREDENTIALS)
    rows = catalog["rows"]
    assert isinstance(rows, Remote)
    # The dataset itself shows its copies (the values must stay real strings for drivers,
    # and for fsspec, whose instance cache is keyed by str() of the arguments)...
    assert NASTY[3] in rows._copy.values()
    assert rows.url() == f"db://planted-user:{NASTY[3]}@db.example.com"
    # ... and every way the library shows it masks them, escaped forms included.
    masker = SecretMasker(catalog.secrets)
    with captured(masked_by=MaskSecretsFilter(catalog.secrets)) as out:
        logging.getLogger("my_project").error("cannot load %r (%s)", rows, catalog["inline"])
    for text in (repr(catalog), masker.mask(repr(rows)), masker.mask(str(catalog["inline"])),
                 out.getvalue()):
        for secret in PLANTED:
            assert not leaks(secret, text), (secret, text)
    assert "copy={'user': '***', 'password': '***', 'pin': ***}" in masker.mask(repr(rows))


# -- log records -------------------------------------------------------------------------------


@contextmanager
def captured(*, masked_by: MaskSecretsFilter | None = None) -> Iterator[io.StringIO]:
    """A handler on the root logger whose lines land in the yielded buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    if masked_by is not None:
        handler.addFilter(masked_by)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def log_everything(logger: logging.Logger, secret: str) -> None:
    """Log ``secret`` in each way user code does."""
    logger.info("connecting to db://user:%s@host", secret)
    logger.info("credentials %r", {"password": secret})
    logger.warning("as json: %s", json.dumps({"password": secret}))
    logger.info("nested: %r", repr(ValueError(repr(secret))))
    try:
        raise ConnectionError(f"login refused by db://user:{secret}@host")
    except ConnectionError:
        logger.exception("load failed for %r", secret)
    logger.info("with the stack", stack_info=True, extra={"unused": secret})


@pytest.mark.parametrize("secret", SECRETS)
def test_the_filter_masks_every_line_of_a_handler(secret: str) -> None:
    masked_by = MaskSecretsFilter(DataCatalog.from_config(
        {"x": {"type": "MemoryDataset"}}, {"db": {"password": secret}}).secrets)
    with captured(masked_by=masked_by) as out:
        log_everything(logging.getLogger("my_project.datasets"), secret)
    text = out.getvalue()
    assert not leaks(secret, text), text
    assert "connecting to db://user:***@host" in text
    assert "ConnectionError: login refused by db://user:***@host" in text  # the traceback
    assert "Traceback (most recent call last)" in text


def test_records_are_masked_in_place_for_every_handler_after_the_filter() -> None:
    other = io.StringIO()
    plain = logging.StreamHandler(other)
    logger = logging.getLogger("my_project.plain")
    logger.addHandler(plain)
    try:
        with captured(masked_by=MaskSecretsFilter(SecretMasker([PASSWORD]))) as out:
            logger.info("password %s", PASSWORD)
            logger.info("a %s message", "plain")
    finally:
        logger.removeHandler(plain)
    assert out.getvalue().splitlines()[0].endswith("password ***")
    assert "a plain message" in out.getvalue()
    # The logger's own handler ran first, unfiltered: filters go on every handler that
    # prints, or masking_log_records masks the record when it is made.
    assert PASSWORD in other.getvalue()


def test_warnings_routed_through_logging_are_masked() -> None:
    with warnings.catch_warnings(), captured(masked_by=MaskSecretsFilter([PASSWORD])) as out:
        warnings.simplefilter("always")
        logging.captureWarnings(True)
        try:
            warnings.warn(f"retrying with {PASSWORD!r}", UserWarning, stacklevel=1)
        finally:
            logging.captureWarnings(False)
    assert "UserWarning: retrying with '***'" in out.getvalue()
    assert not leaks(PASSWORD, out.getvalue())


@pytest.mark.parametrize("secret", [PASSWORD, NASTY[3], NASTY[4]])
def test_masking_log_records_reaches_handlers_without_a_filter(secret: str) -> None:
    with captured() as out:  # no filter: a library's own handler, as Dask's
        with masking_log_records([secret]):
            log_everything(logging.getLogger("distributed.worker"), secret)
        logging.getLogger("distributed.worker").info("after: %s", secret)
    masked, _, after = out.getvalue().partition("after: ")
    assert not leaks(secret, masked), masked
    assert "ConnectionError: login refused by db://user:***@host" in masked
    assert after.strip() == secret  # only while the block is active


def test_masking_blocks_nest_and_overlap() -> None:
    with captured() as out, masking_log_records(["first-PLANTED"]) as first:
        assert isinstance(first, SecretMasker)
        with masking_log_records(SecretMasker(["second-PLANTED"])):
            logging.getLogger("x").info("first-PLANTED second-PLANTED")
        logging.getLogger("x").info("first-PLANTED second-PLANTED")
    assert out.getvalue().splitlines() == ["x INFO *** ***", "x INFO *** second-PLANTED"]


def test_a_broken_log_call_is_left_for_logging_to_report() -> None:
    reported: list[logging.LogRecord] = []

    class Recording(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            try:
                self.format(record)
            except Exception:
                self.handleError(record)

        def handleError(self, record: logging.LogRecord) -> None:
            reported.append(record)

    handler = Recording()
    handler.addFilter(MaskSecretsFilter([PASSWORD]))
    logger = logging.getLogger("my_project.isolated")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with masking_log_records([PASSWORD]):
            logger.warning("two %s %s", "args-but-one")  # neither the factory nor the filter raise
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    assert len(reported) == 1


@pytest.mark.parametrize("secret", [PASSWORD, NASTY[3]])
def test_masking_warnings_masks_what_warn_shows(secret: str) -> None:
    with pytest.warns(UserWarning) as shown, masking_warnings([secret]):
        warnings.warn(f"retrying db://user:{secret}@host as {secret!r}", UserWarning,
                      stacklevel=1)
    with pytest.warns(UserWarning) as after:
        warnings.warn(secret, UserWarning, stacklevel=1)
    assert [str(warning.message) for warning in shown] == ["retrying db://user:***@host as '***'"]
    assert [str(warning.message) for warning in after] == [secret]  # only inside the block
