"""One backup: a tar whose first member is a JSON manifest naming every other member.

The manifest lists each file with its size and SHA-256, the software version, the
schema revision of each database and what kind of data it holds (a device's or
central's). Reading is the dangerous half: an archive comes from a disk, a USB
stick or another machine, so :func:`read_archive` trusts nothing in it. Every
member must be a regular file under ``data/``, ``config/`` or ``secrets/`` with a
plain name (no ``..``, no leading ``/``, no links, no devices), listed in the
manifest, of the listed size (at most ``max_member`` bytes) and hash. The first
problem stops the read; the caller writes into a staging directory so a refused
archive leaves nothing behind.

The tar is read and written as a stream (``r|``/``w|``), so an archive piped
through ``age`` is never held in memory or on disk unencrypted.
"""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from io import BytesIO
from typing import IO, Any, Literal

__all__ = [
    "MANIFEST",
    "ArchiveError",
    "DamagedArchive",
    "Entry",
    "ForeignArchive",
    "HostileArchive",
    "Manifest",
    "archive_name",
    "entry_for",
    "read_archive",
    "write_archive",
]

FORMAT = "muontra-backup"
VERSION = 1
MANIFEST = "manifest.json"
MAX_MANIFEST = 1 << 20
"""Bytes a manifest may take: ten thousand entries fit in well under this."""
MAX_MEMBER = 16 << 30
"""Default bound on one member: far above a device's data, far below a full disk."""
MAX_FILES = 10_000
CHUNK = 1 << 20

# Three top folders, up to four plain components below: a component starts with a
# letter, digit or underscore, so "." and ".." (and hidden names) cannot appear.
_NAME = re.compile(r"^(data|config|secrets)(/[A-Za-z0-9_][A-Za-z0-9._-]{0,127}){1,4}$")
_DEVICE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

Kind = Literal["device", "central"]


class ArchiveError(ValueError):
    """An archive that will not be restored; ``vi`` and ``en`` say why to staff."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(en)
        self.vi = vi
        self.en = en


class ForeignArchive(ArchiveError):
    """Not a muontra backup, a newer format, or another device's or kind's backup."""


class DamagedArchive(ArchiveError):
    """A muontra backup whose contents do not match its manifest (truncated, altered)."""


class HostileArchive(ArchiveError):
    """A member that could write outside the restore directory or fill the disk."""


@dataclass(frozen=True, slots=True)
class Entry:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Manifest:
    kind: Kind
    device: str
    created: datetime
    software: str
    files: tuple[Entry, ...]
    role: str = ""
    site: str = ""
    schemas: dict[str, str] = field(default_factory=dict)
    omitted: tuple[str, ...] = ()
    """Secret files left out because the archive is not encrypted (docs/backup.md)."""
    encrypted: bool = False

    def to_bytes(self) -> bytes:
        document = {
            "format": FORMAT,
            "version": VERSION,
            "kind": self.kind,
            "device": self.device,
            "role": self.role,
            "site": self.site,
            "created": self.created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "software": self.software,
            "schemas": dict(sorted(self.schemas.items())),
            "files": [{"name": e.name, "size": e.size, "sha256": e.sha256} for e in self.files],
            "omitted": list(self.omitted),
            "encrypted": self.encrypted,
        }
        return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"

    def entry(self, name: str) -> Entry | None:
        for entry in self.files:
            if entry.name == name:
                return entry
        return None


def _foreign(en: str, vi: str) -> ForeignArchive:
    return ForeignArchive(vi, en)


def _text(document: dict[str, Any], key: str, limit: int = 200) -> str:
    value = document.get(key, "")
    if not isinstance(value, str) or len(value) > limit:
        raise DamagedArchive(
            f"Tệp kê khai hỏng: trường {key!r}", f"the manifest is damaged: field {key!r}"
        )
    return value


def parse_manifest(raw: bytes) -> Manifest:
    """The manifest in ``raw``; :class:`ForeignArchive` when it is not one of ours."""
    not_ours = _foreign(
        "not a muontra backup (no muontra manifest)",
        "Không phải bản sao lưu muontra (không có tệp kê khai muontra)",
    )
    if len(raw) > MAX_MANIFEST:
        raise not_ours
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise not_ours from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise not_ours
    version = document.get("version")
    if version != VERSION:
        raise _foreign(
            f"backup format version {version!r}: this muontra reads version {VERSION}",
            f"Định dạng sao lưu phiên bản {version!r}: muontra này chỉ đọc phiên bản {VERSION}",
        )
    damaged = DamagedArchive("Tệp kê khai sao lưu bị hỏng", "the backup's manifest is damaged")
    kind = document.get("kind")
    if kind not in ("device", "central"):
        raise damaged
    device = _text(document, "device", 63)
    if not _DEVICE.match(device):
        raise damaged
    try:
        created = datetime.strptime(_text(document, "created", 20), "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise damaged from None
    files_raw = document.get("files")
    schemas_raw = document.get("schemas", {})
    omitted_raw = document.get("omitted", [])
    encrypted = document.get("encrypted", False)
    if (
        not isinstance(files_raw, list)
        or len(files_raw) > MAX_FILES
        or not isinstance(schemas_raw, dict)
        or not isinstance(omitted_raw, list)
        or len(omitted_raw) > 100
        or not isinstance(encrypted, bool)
    ):
        raise damaged
    files: list[Entry] = []
    for item in files_raw:
        if not isinstance(item, dict):
            raise damaged
        name, size, digest = item.get("name"), item.get("size"), item.get("sha256")
        if not isinstance(name, str) or not _NAME.match(name):
            raise HostileArchive(
                f"Tên tệp không an toàn trong tệp kê khai: {name!r}",
                f"an unsafe file name in the manifest: {name!r}",
            )
        if type(size) is not int or size < 0 or not isinstance(digest, str):
            raise damaged
        if not _SHA256.match(digest):
            raise damaged
        files.append(Entry(name, size, digest))
    if len({entry.name for entry in files}) != len(files):
        raise damaged
    schemas: dict[str, str] = {}
    for key, value in schemas_raw.items():
        if not isinstance(key, str) or not isinstance(value, str) or len(value) > 200:
            raise damaged
        schemas[key] = value
    if not all(isinstance(name, str) and len(name) < 200 for name in omitted_raw):
        raise damaged
    return Manifest(
        kind=kind,
        device=device,
        role=_text(document, "role"),
        site=_text(document, "site"),
        created=created.replace(tzinfo=UTC),
        software=_text(document, "software", 50),
        schemas=schemas,
        files=tuple(files),
        omitted=tuple(omitted_raw),
        encrypted=encrypted,
    )


def archive_name(device: str, created: datetime, *, encrypted: bool = False) -> str:
    """``muontra-kiosk-01-20261203T011500Z.tar`` (``.tar.age`` when encrypted): the device
    and the UTC time in ISO 8601's basic form, which sorts by date and needs no colons."""
    if not _DEVICE.match(device):
        raise ValueError(f"not a device id: {device!r}")
    stamp = created.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"muontra-{device}-{stamp}.tar" + (".age" if encrypted else "")


def is_safe_name(name: str) -> bool:
    return bool(_NAME.match(name))


def entry_for(name: str, stream: IO[bytes]) -> Entry:
    """The manifest's entry for a member read from ``stream`` (to its end)."""
    if not _NAME.match(name):
        raise ValueError(f"not a member name of a backup: {name!r}")
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return Entry(name, size, digest.hexdigest())


def _info(name: str, size: int, mtime: datetime) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o600
    info.mtime = int(mtime.timestamp())
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def write_archive(
    out: IO[bytes],
    manifest: Manifest,
    open_member: Callable[[Entry], IO[bytes]],
) -> None:
    """Write the manifest, then every listed file opened by ``open_member`` (and closed here)."""
    raw = manifest.to_bytes()
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_info(MANIFEST, len(raw), manifest.created), BytesIO(raw))
        for entry in manifest.files:
            stream = open_member(entry)
            try:
                tar.addfile(_info(entry.name, entry.size, manifest.created), stream)
            finally:
                stream.close()


def _hostile(en: str, vi: str) -> HostileArchive:
    return HostileArchive(vi, en)


def _check_member(member: tarfile.TarInfo, manifest: Manifest, max_member: int) -> Entry:
    name = member.name
    if not member.isreg() or member.issparse():
        what = (
            "a link"
            if member.issym() or member.islnk()
            else "a folder"
            if member.isdir()
            else "a device or special file"
        )
        raise _hostile(
            f"{name!r} is {what}; a backup holds regular files only",
            f"{name!r} không phải tệp thường; bản sao lưu chỉ chứa tệp thường",
        )
    if not _NAME.match(name):
        raise _hostile(
            f"unsafe member name {name!r} (absolute, '..' or unexpected folder)",
            f"Tên tệp không an toàn {name!r} (đường dẫn tuyệt đối, '..' hoặc thư mục lạ)",
        )
    if member.size > max_member:
        raise _hostile(
            f"{name!r} is {member.size} bytes, above the limit of {max_member}",
            f"{name!r} dài {member.size} byte, vượt giới hạn {max_member}",
        )
    entry = manifest.entry(name)
    if entry is None:
        raise _hostile(
            f"{name!r} is not in the manifest",
            f"{name!r} không có trong tệp kê khai",
        )
    if member.size != entry.size:
        raise DamagedArchive(
            f"{name!r} có {member.size} byte, tệp kê khai ghi {entry.size}",
            f"{name!r} holds {member.size} bytes, the manifest says {entry.size}",
        )
    return entry


def read_archive(
    source: IO[bytes],
    sink: Callable[[Entry], IO[bytes]],
    *,
    max_member: int = MAX_MEMBER,
    on_manifest: Callable[[Manifest], None] | None = None,
    on_file: Callable[[Entry], None] | None = None,
) -> Manifest:
    """Read and verify the archive on ``source``, writing each file to ``sink(entry)``.

    ``on_manifest`` sees the manifest before any file is written (to refuse another
    device's archive early); ``on_file`` is told of each file once its hash is
    verified (progress). Raises :class:`ArchiveError` at the first problem.
    """
    seen: set[str] = set()
    try:
        with tarfile.open(fileobj=source, mode="r|") as tar:
            first = tar.next()
            if first is None or first.name != MANIFEST or not first.isreg():
                raise _foreign(
                    "not a muontra backup (the first member is not its manifest)",
                    "Không phải bản sao lưu muontra (tệp đầu không phải tệp kê khai)",
                )
            if first.size > MAX_MANIFEST:
                raise _hostile("the manifest is too large", "Tệp kê khai quá lớn")
            raw = _read_all(tar, first)
            manifest = parse_manifest(raw)
            if on_manifest is not None:
                on_manifest(manifest)
            for member in _members(tar):
                entry = _check_member(member, manifest, max_member)
                if entry.name in seen:
                    raise _hostile(
                        f"{entry.name!r} appears twice", f"{entry.name!r} xuất hiện hai lần"
                    )
                seen.add(entry.name)
                _copy_verified(tar, member, entry, sink)
                if on_file is not None:
                    on_file(entry)
    except (tarfile.TarError, EOFError) as error:
        # A full disk in the sink (OSError) is not the archive's fault: it propagates.
        raise DamagedArchive(
            f"Bản sao lưu bị hỏng hoặc bị cắt cụt ({type(error).__name__})",
            f"the archive is damaged or truncated ({type(error).__name__}: {error})",
        ) from None
    missing = [entry.name for entry in manifest.files if entry.name not in seen]
    if missing:
        raise DamagedArchive(
            f"Thiếu tệp so với tệp kê khai: {', '.join(missing[:5])}",
            f"files listed in the manifest are missing: {', '.join(missing[:5])}",
        )
    return manifest


def _members(tar: tarfile.TarFile) -> Iterable[tarfile.TarInfo]:
    while (member := tar.next()) is not None:
        yield member


def _read_all(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    stream = tar.extractfile(member)
    if stream is None:
        raise tarfile.ReadError("no data")
    data = stream.read()
    if len(data) != member.size:
        raise tarfile.ReadError("short member")
    return data


def _copy_verified(
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    entry: Entry,
    sink: Callable[[Entry], IO[bytes]],
) -> None:
    stream = tar.extractfile(member)
    if stream is None:
        raise tarfile.ReadError("no data")
    digest = hashlib.sha256()
    size = 0
    out = sink(entry)
    try:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    finally:
        out.close()
    if size != entry.size or digest.hexdigest() != entry.sha256:
        raise DamagedArchive(
            f"{entry.name!r} không khớp mã băm SHA-256 trong tệp kê khai",
            f"{entry.name!r} does not match its SHA-256 in the manifest",
        )
