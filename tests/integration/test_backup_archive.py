"""The backup archive format: exact manifest bytes, round trips, and every hostile or broken
archive refused through `muontra restore` with nothing written anywhere."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from muontra.cli import main
from protocols.backup.archive import (
    ArchiveError,
    Entry,
    ForeignArchive,
    Manifest,
    archive_name,
    parse_manifest,
    read_archive,
    write_archive,
)

WHEN = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
CONFIG = """
[device]
id = "kiosk-01"
site = "MUONTRA"
role = "self-checkout"
data_dir = "{data}"
api_socket = "{socket}"

[ils]
url = "sip2://127.0.0.1:6001?institution=MUONTRA"

[devices]
pad = "sim://pad"
"""


def manifest_for(files: dict[str, bytes], *, device: str = "kiosk-01", **extra: object) -> Manifest:
    entries = tuple(
        Entry(name, len(data), hashlib.sha256(data).hexdigest()) for name, data in files.items()
    )
    return Manifest(
        kind=extra.pop("kind", "device"),  # type: ignore[arg-type]
        device=device,
        created=WHEN,
        software="0.1.0",
        files=entries,
        role="self-checkout",
        site="MUONTRA",
        **extra,  # type: ignore[arg-type]
    )


def good_archive(files: dict[str, bytes], **extra: object) -> bytes:
    out = io.BytesIO()
    write_archive(out, manifest_for(files, **extra), lambda e: io.BytesIO(files[e.name]))
    return out.getvalue()


def raw_tar(manifest: Manifest, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    """A tar written member by member, as an attacker would: anything goes."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        raw = manifest.to_bytes()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def regular(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


@pytest.fixture
def place(tmp_path: Path) -> dict[str, Path]:
    data = tmp_path / "site" / "data"
    config = tmp_path / "kiosk.toml"
    config.write_text(CONFIG.format(data=data, socket=tmp_path / "k.sock"))
    return {"config": config, "data": data, "root": tmp_path}


def restore(place: dict[str, Path], blob: bytes, capsys: pytest.CaptureFixture[str]) -> str:
    archive = place["root"] / "in.tar"
    archive.write_bytes(blob)
    code = main(["restore", str(archive), "--config", str(place["config"])])
    err = capsys.readouterr().err
    assert code == 1, err
    # Nothing was put in place, and the staging directory is gone.
    assert not place["data"].exists()
    parent = place["data"].parent
    assert not parent.exists() or list(parent.iterdir()) == []
    return err


def test_manifest_exact_bytes() -> None:
    manifest = manifest_for({"data/journal.sqlite": b"abc"}, omitted=("data/pin.key",))
    assert manifest.to_bytes() == (
        b'{\n "format": "muontra-backup",\n "version": 1,\n "kind": "device",\n'
        b' "device": "kiosk-01",\n "role": "self-checkout",\n "site": "MUONTRA",\n'
        b' "created": "2031-01-02T03:04:05Z",\n "software": "0.1.0",\n "schemas": {},\n'
        b' "files": [\n  {\n   "name": "data/journal.sqlite",\n   "size": 3,\n'
        b'   "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"\n'
        b'  }\n ],\n "omitted": [\n  "data/pin.key"\n ],\n "encrypted": false\n}\n'
    )
    assert parse_manifest(manifest.to_bytes()) == manifest


def test_name_carries_device_and_utc_time() -> None:
    assert archive_name("kiosk-01", WHEN) == "muontra-kiosk-01-20310102T030405Z.tar"
    assert archive_name("gate-2", WHEN, encrypted=True).endswith("20310102T030405Z.tar.age")
    with pytest.raises(ValueError):
        archive_name("../x", WHEN)


def test_round_trip_reads_what_was_written() -> None:
    files = {"data/journal.sqlite": b"x" * 70_000, "config/kiosk.toml": b"[device]\n"}
    got: dict[str, io.BytesIO] = {}

    class Keep(io.BytesIO):
        def close(self) -> None:
            pass

    def sink(entry: Entry) -> Keep:
        got[entry.name] = Keep()
        return got[entry.name]  # type: ignore[return-value]

    manifest = read_archive(io.BytesIO(good_archive(files)), sink)
    assert {name: buf.getvalue() for name, buf in got.items()} == files
    assert manifest.device == "kiosk-01"


@pytest.mark.parametrize(
    "name",
    [
        "../escape",
        "data/../../escape",
        "data/./journal.sqlite",
        "/tmp/absolute-escape",
        "data//journal.sqlite",
        "data\\..\\escape",
        "other/file",
        "data/.hidden",
    ],
)
def test_unsafe_member_names_are_refused(
    place: dict[str, Path], capsys: pytest.CaptureFixture[str], name: str
) -> None:
    manifest = manifest_for({"data/journal.sqlite": b"j"})
    blob = raw_tar(manifest, [regular(name, b"evil")])
    err = restore(place, blob, capsys)
    assert "unsafe member name" in err
    assert "Tên tệp không an toàn" in err
    assert not (place["root"] / "escape").exists()
    assert not Path("/tmp/absolute-escape").exists()


def test_a_manifest_listing_an_unsafe_name_is_refused(
    place: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    raw = manifest_for({"data/j": b"j"}).to_bytes().replace(b'"data/j"', b'"../../j"')
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
    assert "unsafe file name in the manifest" in restore(place, out.getvalue(), capsys)


@pytest.mark.parametrize(
    "kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.DIRTYPE, tarfile.CHRTYPE]
)
def test_links_folders_and_devices_are_refused(
    place: dict[str, Path], capsys: pytest.CaptureFixture[str], kind: bytes
) -> None:
    manifest = manifest_for({"data/journal.sqlite": b""})
    info = tarfile.TarInfo("data/journal.sqlite")
    info.type = kind
    info.linkname = "/etc/passwd"
    err = restore(place, raw_tar(manifest, [(info, None)]), capsys)
    assert "a backup holds regular files only" in err


def test_a_huge_member_is_refused_before_it_is_read(
    place: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """The header claims 64 GiB; the archive stops after it. Were the size believed, the
    read would be of a truncated member (damaged), not refused as too large."""
    manifest = manifest_for({"data/journal.sqlite": b"j"})
    raw = manifest.to_bytes()
    first = tarfile.TarInfo("manifest.json")
    first.size = len(raw)
    head = first.tobuf(format=tarfile.PAX_FORMAT) + raw + b"\0" * (-len(raw) % 512)
    info = tarfile.TarInfo("data/journal.sqlite")
    info.size = 64 << 30
    blob = head + info.tobuf(format=tarfile.PAX_FORMAT) + b"\0" * 4096
    err = restore(place, blob, capsys)
    assert "above the limit" in err


def test_a_member_not_in_the_manifest_is_refused(
    place: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = manifest_for({"data/journal.sqlite": b"j"})
    blob = raw_tar(manifest, [regular("data/journal.sqlite", b"j"), regular("data/x", b"x")])
    assert "'data/x' is not in the manifest" in restore(place, blob, capsys)


def test_a_changed_byte_is_refused_as_damaged(
    place: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    blob = bytearray(good_archive({"data/journal.sqlite": b"A" * 5000}))
    at = blob.index(b"A" * 5000)
    blob[at + 1234] = ord("B")
    assert "does not match its SHA-256" in restore(place, bytes(blob), capsys)


def test_a_truncated_archive_is_refused_as_damaged(
    place: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    blob = good_archive({"data/journal.sqlite": b"A" * 50_000, "data/z": b"z"})
    assert "damaged or truncated" in restore(place, blob[:20_000], capsys)


def test_a_member_missing_from_the_archive_is_refused(
    place: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = manifest_for({"data/journal.sqlite": b"j", "data/outbox.sqlite": b"o"})
    blob = raw_tar(manifest, [regular("data/journal.sqlite", b"j")])
    assert "missing: data/outbox.sqlite" in restore(place, blob, capsys)


@pytest.mark.parametrize(
    ("blob", "says"),
    [
        (b"\x00" * 4096, "not a muontra backup"),
        (b"PK\x03\x04 a zip file", "damaged or truncated"),
        (None, "not a muontra backup (the first member"),
        (
            good_archive({"data/j": b"j"}, device="kiosk-02"),
            "the backup of kiosk-02, not of kiosk-01",
        ),
        (good_archive({"data/j": b"j"}, device="central", kind="central"), "central's backup"),
    ],
)
def test_foreign_archives_are_refused(
    place: dict[str, Path], capsys: pytest.CaptureFixture[str], blob: bytes | None, says: str
) -> None:
    if blob is None:  # somebody's ordinary tar
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w") as tar:
            info, data = regular("notes.txt", b"hello")
            tar.addfile(info, io.BytesIO(data))
        blob = out.getvalue()
    assert says in restore(place, blob, capsys)


def test_a_newer_format_is_named() -> None:
    raw = json.loads(manifest_for({}).to_bytes())
    raw["version"] = 2
    with pytest.raises(ForeignArchive, match="format version 2"):
        parse_manifest(json.dumps(raw).encode())


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_random_bytes_are_refused_cleanly(blob: bytes) -> None:
    with pytest.raises(ArchiveError):
        read_archive(io.BytesIO(blob), lambda e: io.BytesIO())


@settings(max_examples=300)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=20,
    ),
    st.sampled_from(["format", "files", "kind", "created", "device", "schemas", "omitted"]),
)
def test_hostile_manifests_raise_only_archive_errors(value: object, key: str) -> None:
    document = json.loads(manifest_for({"data/j": b"j"}).to_bytes())
    document[key] = value
    with contextlib.suppress(ArchiveError):
        parse_manifest(json.dumps(document).encode())


@given(
    st.dictionaries(
        st.from_regex(r"\A(data|config|secrets)/[a-z0-9_][a-z0-9._-]{0,20}\Z"),
        st.binary(max_size=2000),
        max_size=5,
    )
)
def test_round_trip_property(files: dict[str, bytes]) -> None:
    got: dict[str, bytes] = {}

    class Sink(io.BytesIO):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name_ = name

        def close(self) -> None:
            got[self.name_] = self.getvalue()
            super().close()

    manifest = read_archive(io.BytesIO(good_archive(files)), lambda e: Sink(e.name))
    assert got == files
    assert [e.name for e in manifest.files] == list(files)
