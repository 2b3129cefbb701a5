"""Writing results safely: whole folders and single files appear complete or not at all, nothing
cnaps did not write is ever deleted, and every OS error becomes one line (`OutputError`).

- `check_can_write` / `check_folder_target` check, before any heavy work and creating nothing,
  that an output location can be written (names fit, no file in the way, not under /proc or a
  read-only folder, not a folder of someone else's files).
- `write_folder` fills a hidden temporary sibling and swaps it into place. It refuses a folder
  holding files other than the ones it owns (a user's notes are never deleted with an old
  answer), holds a lock on the parent folder so concurrent writers take turns, and removes the
  `.NAME.tmp-*` / `.NAME.old-*` siblings a killed run left behind.
- `atomic_file` is the same for one file (`.NAME.<random>.part`, renamed into place).
Files and folders get the user's umask, not mkstemp's private 0600.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from cnaps.errors import OutputError

TMP_TAG, OLD_TAG, PART_SUFFIX = ".tmp-", ".old-", ".part"


def describe_os_error(exc: OSError, path: str | Path, action: str = "write") -> str:
    """One line for an OS error, naming the path and what to do."""
    reason = {
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted (read-only, immutable or a system folder)",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
        errno.EEXIST: "a file of that name is in the way",
        errno.ENAMETOOLONG: "a name in the path is too long (255 bytes at most)",
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is exceeded",
        errno.ENOENT: "a folder in the path does not exist or cannot be created there",
        errno.EISDIR: "it is a folder",
    }.get(exc.errno, exc.strerror or type(exc).__name__)
    return f"cannot {action} {path}: {reason}; choose another output location"


def _umask() -> int:
    # Read, not set-and-restore: os.umask() would change it for every thread meanwhile.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    current = os.umask(0o022)
    os.umask(current)
    return current


def _apply_umask(path: Path, folder: bool) -> None:
    """mkstemp/mkdtemp create private 0600/0700 entries; give them the user's usual mode."""
    os.chmod(path, (0o777 if folder else 0o666) & ~_umask())


def _usable_name(path: Path) -> Path:
    """An absolute path with a real last component ('.' and '/' have none to rename)."""
    path = Path(os.path.abspath(path))
    if not path.name:
        raise OutputError(f"cannot use {path} as the output: give a folder or file name")
    return path


def check_can_write(path: str | Path, what: str = "output") -> Path:
    """Raise OutputError unless `path` could be created: names fit, the nearest existing
    ancestor is a folder and a file can be made in it. Creates nothing; called before the
    expensive part of a command, so a bad location fails at once and leaves nothing behind."""
    path = Path(os.path.abspath(path))
    too_long = [p for p in path.parts if len(os.fsencode(p)) > 255]
    if too_long:
        raise OutputError(f"cannot write {what} {str(path)[:80]}...: a name in the path is "
                          f"{len(os.fsencode(too_long[0]))} bytes, over the 255-byte limit")
    ancestor = path.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(f"cannot write {what} {path}: {ancestor} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=ancestor):
            pass
    except OSError as exc:
        raise OutputError(describe_os_error(exc, path)) from None
    return path


def prepare_folder(folder: str | Path, what: str = "output folder") -> Path:
    """Create `folder` (and its parents); OutputError if that is impossible."""
    folder = check_can_write(folder, what)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{what} {folder} is a file, not a folder; choose another")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(describe_os_error(exc, folder)) from None
    return folder


def check_folder_target(out_dir: str | Path, owned: tuple[str, ...], marker: str) -> Path:
    """Raise OutputError unless `write_folder` may replace `out_dir` (see there)."""
    out_dir = _usable_name(Path(out_dir))
    check_can_write(out_dir, "the output folder")
    try:
        cwd = Path.cwd()
    except OSError:
        cwd = None
    if cwd is not None and (cwd == out_dir or out_dir in cwd.parents):
        raise OutputError(f"--out {out_dir} is the current folder (or holds it); the answer "
                          "folder is replaced as a whole, so give a subfolder, e.g. runs/answer")
    try:
        _check_replaceable(out_dir, owned, marker)
    except FileNotFoundError:
        pass  # another writer is swapping it in right now; write_folder checks again, locked
    except OSError as exc:
        raise OutputError(describe_os_error(exc, out_dir)) from None
    return out_dir


def _check_replaceable(out_dir: Path, owned: tuple[str, ...], marker: str) -> None:
    if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
        raise OutputError(f"--out {out_dir} exists and is not a folder; choose another")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        if not (out_dir / marker).is_file():
            raise OutputError(
                f"--out {out_dir} exists and is not a cnaps answer folder (no {marker}); "
                "expected a new or empty folder, or one cnaps wrote: choose another")
        foreign = foreign_entries(out_dir, owned)
        if foreign:
            raise OutputError(
                f"--out {out_dir} holds files cnaps did not write "
                f"({', '.join(foreign[:3])}{', ...' if len(foreign) > 3 else ''}); they "
                "would be lost when the answer is replaced: move them or choose another --out")


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on a folder (flock on the folder itself: nothing is left behind).
    Not re-entrant: never nest two writes into the same folder."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _remove_stale(parent: Path, name: str, tags: tuple[str, ...], suffix: str = "") -> None:
    """Delete leftovers of killed runs: `.NAME<tag>*<suffix>` (only called under the lock, so no
    live writer owns them)."""
    for entry in parent.iterdir():
        if any(entry.name.startswith(f".{name}{tag}") for tag in tags) and \
                entry.name.endswith(suffix):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def refuse_foreign_files(found: list[Path], remedy: str) -> None:
    """OutputError naming the files an output would replace that cnaps did not write (a file
    it wrote is known by its record: a stamp or a list of what it wrote). --force never
    replaces these: it redoes cnaps's own outputs only."""
    if found:
        names = ", ".join(str(p) for p in found[:3]) + (", ..." if len(found) > 3 else "")
        raise OutputError(f"{names} {'is' if len(found) == 1 else 'are'} in the way and not "
                          f"written by cnaps (not even --force replaces it): {remedy}")


def foreign_entries(folder: Path, owned: tuple[str, ...]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in owned)


def write_folder(out_dir: str | Path, files: dict[str, bytes], owned: tuple[str, ...],
                 marker: str) -> Path:
    """Replace `out_dir` with exactly `files` (relative path -> bytes), all or nothing.

    `owned` are the top-level names this writer creates; `marker` is the file that shows a
    folder was written by it. An existing folder is replaced only when it is empty or holds
    the marker and nothing but owned names; anything else is refused, never deleted."""
    out_dir = check_folder_target(out_dir, owned, marker)
    parent = prepare_folder(out_dir.parent, "parent folder")
    try:
        with folder_lock(parent):
            _remove_stale(parent, out_dir.name, (TMP_TAG, OLD_TAG))
            check_folder_target(out_dir, owned, marker)  # again: another writer may have been first
            _swap_in(parent, out_dir, files)
    except OSError as exc:
        raise OutputError(describe_os_error(exc, out_dir)) from None
    return out_dir


def _swap_in(parent: Path, out_dir: Path, files: dict[str, bytes]) -> None:
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{out_dir.name}{TMP_TAG}"))
    old = None
    try:
        for rel, data in files.items():
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        _apply_umask(tmp, folder=True)
        if out_dir.exists():
            old = parent / f".{out_dir.name}{OLD_TAG}{tmp.name.rsplit('-', 1)[-1]}"
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
    except BaseException:
        if old is not None and old.exists() and not out_dir.exists():
            os.replace(old, out_dir)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yields a temporary path beside `path`; when the block ends without error it is renamed
    to `path` (with the user's umask). Stale `.NAME.*.part` files of killed runs are removed."""
    path = check_can_write(_usable_name(Path(path)))
    parent = prepare_folder(path.parent, "output folder")
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder; give a file name")
    try:
        with folder_lock(parent):
            _remove_stale(parent, path.name, (".",), PART_SUFFIX)
            fd, tmp_name = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.",
                                            suffix=PART_SUFFIX)
            os.close(fd)
            tmp = Path(tmp_name)
            try:
                yield tmp
                _apply_umask(tmp, folder=False)
                os.replace(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise OutputError(describe_os_error(exc, path)) from None


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` through `atomic_file`: all or nothing."""
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


@contextmanager
def removed_on_failure(folder: str | Path, keep_contents: bool = False) -> Iterator[None]:
    """If `folder` did not exist and the block fails, remove it: everything in it was written
    by this run, so nothing of the user's is lost and no partial output is left. With
    `keep_contents` only an empty folder is removed (a training run keeps its resumable
    checkpoint). A folder that existed before is never touched."""
    folder = Path(folder)
    existed = folder.exists()
    try:
        yield
    except BaseException:
        if not existed and folder.is_dir() and not folder.is_symlink():
            if keep_contents:
                try:
                    folder.rmdir()  # only ever removes an empty folder
                except OSError:
                    pass
            else:
                shutil.rmtree(folder, ignore_errors=True)
        raise
