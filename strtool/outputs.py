"""Safe outputs: atomic file writes, atomic directory replacement and the ownership
check behind `--overwrite`.

Rules (every command that writes follows them):

- **Atomic files**: `atomic_write_bytes` / `atomic_write_text` write a temporary file
  in the target's folder (`.<name>.<random>.strtool-tmp`), fsync it and `os.replace`
  it onto the target; on any failure the temporary file is removed and the old target
  is untouched. `OSError`s (unwritable folder, a parent that is a regular file, disk
  full) become `InputError` naming the path.
- **Atomic folders**: `building_dir(dst)` yields a fresh temporary folder beside `dst`
  (same naming scheme); when the block succeeds, `replace_dir` swaps it in (the old
  `dst` is moved aside to `.<name>.<random>.strtool-old`, the new one renamed in, then
  the old one deleted; if the rename fails the old one is put back). A failed build
  therefore leaves the old output as it was.
- **Ownership** (`check_replaceable(output, kind, inputs)`): strtool replaces only
  what it made itself, and never an output that is, or contains, one of the inputs.
  "Made by strtool" means, per kind (`KINDS`, and `strtool.data.lmdb_io.LMDB_KIND`):

  - LMDB (`LMDB_KIND`, defined beside the LMDB reader so this module needs no LMDB
    code): a folder holding nothing but `data.mdb` (and `lock.mdb`) whose `meta` key
    is JSON with `"tool": "strtool"` (every LMDB strtool writes has it);
  - `partial`: an unfinished strtool LMDB (`<output>.partial`): nothing but
    `data.mdb` / `lock.mdb`;
  - `export`: a folder holding the marker file `.strtool.json` (`write_marker`) with
    the same kind, `gt.txt` and `images/` (plain files only), nothing else;
  - `report`: a make-lmdb report JSON (an object with `"tool": "strtool"`, or the
    keys `output`, `report`, `written`, `skipped` of earlier versions);
  - `sheet`: a PNG contact sheet carrying the text chunk `Software: strtool`;
  - text outputs of other commands: `text_kind(description, first_line)` (the file's
    first line must be the header strtool writes).

  Symbolic links are never replaced. The error is one line naming the path and why.
  `check_replaceable` also refuses a path whose folder cannot be created or written
  (`parent_problem`), so a command fails before its work, not after it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from strtool import __version__
from strtool.errors import InputError

#: Suffix of every temporary file or folder strtool writes beside an output.
TEMP_SUFFIX = ".strtool-tmp"
#: Suffix of an old output moved aside while a new one is swapped in.
OLD_SUFFIX = ".strtool-old"
#: Marker file in folders strtool makes (other than LMDBs, which carry `meta`).
MARKER = ".strtool.json"
#: First bytes of a PNG file.
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: PNG text chunk key/value that marks images strtool wrote (`png_text_marker`).
PNG_SOFTWARE = ("Software", "strtool")


@dataclass(frozen=True)
class Kind:
    """What a command makes: a description for messages ("an LMDB written by
    strtool") and a check returning why an existing path is *not* one, or None."""

    description: str
    check: Callable[[Path], str | None]


def _write_error(path: Path, e: OSError) -> InputError:
    why = e.strerror or str(e)
    return InputError(f"cannot write {path}: {why}")


def temp_path(target: str | Path, suffix: str = TEMP_SUFFIX) -> Path:
    """A new, unused name beside `target` in the one naming scheme
    (`.<name>.<random><suffix>`); nothing is created."""
    target = Path(target)
    name = f".{target.name}.{secrets.token_hex(4)}{suffix}"
    return target.with_name(name)


def is_temp(path: str | Path) -> bool:
    """Whether `path` is a temporary or moved-aside output of strtool."""
    name = Path(path).name
    return name.startswith(".") and name.endswith((TEMP_SUFFIX, OLD_SUFFIX))


def ensure_parent(path: str | Path) -> None:
    """Create the parent folder of `path`; `InputError` naming `path` if impossible
    (a parent is a regular file, no permission)."""
    path = Path(path)
    why = parent_problem(path)
    if why is not None:
        raise InputError(f"cannot write {path}: {why}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _write_error(path, e) from None


def parent_problem(path: str | Path) -> str | None:
    """Why no file or folder can be created at `path` (its nearest existing ancestor
    is not a folder, or not writable), or None. Creates nothing."""
    anc = Path(os.path.abspath(path)).parent
    while not anc.exists() and anc != anc.parent:
        anc = anc.parent
    if not anc.is_dir():
        return f"{anc} is a file, not a folder"
    if not os.access(anc, os.W_OK | os.X_OK):
        return f"folder {anc} is not writable"
    return None


@contextmanager
def atomic_file(path: str | Path) -> Iterator[BinaryIO]:
    """A binary file handle whose content lands at `path` atomically when the block
    ends without an error: a temporary file beside it (the one naming scheme), fsync,
    `os.replace`; on an error the temporary file is removed and `path` is untouched.
    The parent folder is created; a replaced file keeps its mode."""
    path = Path(path)
    ensure_parent(path)
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a folder")
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    except OSError as e:
        raise _write_error(path, e) from None
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise _write_error(path, e) from None
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` atomically (`atomic_file`). Returns `path`."""
    with atomic_file(path) as f:
        f.write(data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """`atomic_write_bytes` of `text` as UTF-8 (no BOM, newlines as given)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once: os.umask can only be read by setting it


def _mode_for(path: Path) -> int:
    """The mode of the file being replaced, else what `open()` would give."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return 0o666 & ~_UMASK


def new_temp_dir(target: str | Path) -> Path:
    """Create and return an empty temporary folder beside `target` (parents created)."""
    target = Path(target)
    ensure_parent(target)
    try:
        return Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.",
                                     suffix=TEMP_SUFFIX))  # fmt: skip
    except OSError as e:
        raise _write_error(target, e) from None


def remove(path: Path) -> None:
    """Delete a file or folder (missing: nothing to do)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def replace_dir(src: str | Path, dst: str | Path) -> Path:
    """Move the finished folder `src` onto `dst`. An existing `dst` is first renamed
    aside (`.<name>.<random>.strtool-old`), then `src` renamed in, then the old one
    deleted; if the second rename fails the old `dst` is put back. The caller has
    checked that `dst` may be replaced (`check_replaceable`)."""
    src, dst = Path(src), Path(dst)
    old = None
    try:
        if dst.exists() or dst.is_symlink():
            old = temp_path(dst, OLD_SUFFIX)
            os.replace(dst, old)
        try:
            os.replace(src, dst)
        except OSError:
            if old is not None:
                os.replace(old, dst)
                old = None
            raise
    except OSError as e:
        raise _write_error(dst, e) from None
    if old is not None:
        remove(old)
    return dst


@contextmanager
def building_dir(dst: str | Path) -> Iterator[Path]:
    """Build a folder beside `dst` and swap it in when the block succeeds; on an
    exception the temporary folder is removed and `dst` is untouched."""
    tmp = new_temp_dir(dst)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    replace_dir(tmp, dst)


def write_marker(folder: str | Path, kind: str, **extra: Any) -> Path:
    """Write the marker `.strtool.json` (tool, version, kind, extras) into `folder`."""
    data = {"tool": "strtool", "version": __version__, "kind": kind, **extra}
    return atomic_write_text(Path(folder) / MARKER, json.dumps(data, ensure_ascii=False) + "\n")


def read_marker(folder: Path) -> dict[str, Any] | None:
    """The marker of a folder strtool made, or None when absent or not one."""
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) and data.get("tool") == "strtool" else None


# ---- what each kind of output looks like ------------------------------------------


def _extra_entries(folder: Path, allowed: set[str]) -> str | None:
    try:
        names = sorted(p.name for p in folder.iterdir())
    except OSError as e:
        return f"cannot list it ({e.strerror})"
    extra = [n for n in names if n not in allowed]
    if extra:
        shown = ", ".join(extra[:3]) + (", ..." if len(extra) > 3 else "")
        return f"it holds other files ({shown})"
    return None


def lmdb_files_problem(path: Path) -> str | None:
    if not path.is_dir():
        return "it is not a folder"
    why = _extra_entries(path, {"data.mdb", "lock.mdb"})
    if why is None and not (path / "data.mdb").is_file():
        why = "it has no data.mdb"
    return why


def _export_check(path: Path) -> str | None:
    if not path.is_dir():
        return "it is not a folder"
    marker = read_marker(path)
    if marker is None or marker.get("kind") != "export":
        return f"it has no {MARKER} marker of a strtool export"
    why = _extra_entries(path, {MARKER, "gt.txt", "images"})
    if why is None and (path / "images").is_dir():
        if any(not p.is_file() or p.is_symlink() for p in (path / "images").iterdir()):
            why = "images/ holds folders or links"
    return why


def _report_check(path: Path) -> str | None:
    if not path.is_file():
        return "it is not a file"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return "it is not a JSON report"
    if isinstance(data, dict) and (
        data.get("tool") == "strtool" or {"output", "report", "written", "skipped"} <= set(data)
    ):
        return None
    return "it is not a strtool report"


def _sheet_check(path: Path) -> str | None:
    if not path.is_file():
        return "it is not a file"
    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except OSError as e:
        return f"cannot read it ({e.strerror})"
    if not head.startswith(PNG_MAGIC):
        return "it is not a PNG"
    key, value = PNG_SOFTWARE  # tEXt chunks come right after IHDR
    if f"{key}\0{value}".encode() not in head:
        return "it is a PNG strtool did not write"
    return None


def text_kind(description: str, first_line: str) -> Kind:
    """A text output recognised by its first line (the header strtool writes)."""

    def check(path: Path) -> str | None:
        if not path.is_file():
            return "it is not a file"
        try:
            with path.open("rb") as f:
                head = f.readline(len(first_line.encode("utf-8")) + 2)
        except OSError as e:
            return f"cannot read it ({e.strerror})"
        if head.rstrip(b"\r\n") != first_line.encode("utf-8"):
            return f"its first line is not the header strtool writes ({first_line!r})"
        return None

    return Kind(description, check)


KINDS: dict[str, Kind] = {
    "partial": Kind("an unfinished strtool LMDB", lmdb_files_problem),
    "export": Kind("an export folder written by strtool", _export_check),
    "report": Kind("a make-lmdb report", _report_check),
    "sheet": Kind("a contact sheet written by strtool", _sheet_check),
}


def _resolved(p: str | Path) -> Path:
    return Path(os.path.abspath(Path(p).expanduser())).resolve()


def _within(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def check_not_input(output: str | Path, inputs: Iterable[str | Path]) -> None:
    """`InputError` when `output` is one of `inputs` or a folder containing one
    (paths compared after resolving links)."""
    out = _resolved(output)
    for inp in inputs:
        if inp is None:
            continue
        src = _resolved(inp)
        if src == out:
            raise InputError(f"{output}: the output is also an input; choose another output")
        if _within(src, out):
            raise InputError(
                f"{output}: the output folder contains the input {inp}; choose another output"
            )


def check_replaceable(
    output: str | Path, kind: str | Kind, inputs: Iterable[str | Path] = ()
) -> None:
    """Raise `InputError` (one line naming `output` and why) unless `output` may be
    replaced: it is not, and does not contain, any of `inputs`, and when it exists
    it is what `kind` makes (see the module docstring). A missing `output` is fine."""
    output = Path(output)
    check_not_input(output, inputs)
    if output.exists() or output.is_symlink():
        k = KINDS[kind] if isinstance(kind, str) else kind
        why = "it is a symbolic link" if output.is_symlink() else k.check(output)
        if why is not None:
            raise InputError(
                f"{output} is not {k.description} ({why}); strtool replaces only its own "
                "outputs: remove it yourself or choose another output"
            )
    why = parent_problem(output)
    if why is not None:
        raise InputError(f"cannot write {output}: {why}")


def check_output(
    output: str | Path,
    kind: str | Kind,
    inputs: Iterable[str | Path] = (),
    overwrite: bool = False,
) -> None:
    """The checks of a command with `--overwrite`: `output` is no input; if it exists,
    `overwrite` is needed and it must be replaceable (`check_replaceable`)."""
    output = Path(output)
    inputs = list(inputs)
    check_not_input(output, inputs)
    if (output.exists() or output.is_symlink()) and not overwrite:
        raise InputError(f"{output} exists (use --overwrite to replace it)")
    check_replaceable(output, kind, inputs)
