"""One process at a time writes a run folder: `run_lock(folder, command)` holds an exclusive
flock on .FOLDER.lock beside it (so the folder itself is made only by the run, after its
checks), which names its owner (pid, command, start), for as long as the run works. A second
process is refused with that owner named; a lock left by a process that died is taken over
(the kernel drops a dead process's flock). A run folder this attempt made is removed again
when the attempt failed before any work (a refused config claims nothing)."""

import fcntl
import json
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path

from dfkd_core.errors import DfkdError

BOOKKEEPING = ("config.yaml", "backbone.json", "CANCELLED.json")  # what a run writes before its first work


def _open_locked(path: Path):
    """The lock file, opened and flock'ed, or the owner its file names when another process holds it."""
    while True:
        f = open(path, "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            text = f.read()
            f.close()
            try:
                return None, json.loads(text)
            except ValueError:  # it has not written its name yet
                return None, {}
        try:
            if os.stat(path).st_ino == os.fstat(f.fileno()).st_ino:
                return f, None
        except FileNotFoundError:
            pass
        f.close()  # the owner removed the file as it finished: lock the new one


def _held(run_dir: Path, owner: dict) -> DfkdError:
    who = f"pid {owner['pid']}" if "pid" in owner else "a process"
    if owner.get("host") not in (None, socket.gethostname()):
        who += f" on {owner['host']}"
    what = f" (`{owner['command']}`, started {owner.get('started', '?')})" if owner.get("command") else ""
    return DfkdError(f"Another process is writing {run_dir}: {who}{what}. Wait for it to finish, or stop it and "
                     "rerun this command to resume; two processes writing one run would mix their work.")


def lock_path(run_dir) -> Path:
    run_dir = Path(run_dir).resolve()  # one lock, however the folder is spelled
    return run_dir.parent / f".{run_dir.name}.lock"


@contextmanager
def run_lock(run_dir, command: str):
    """Hold run_dir for this process while the body runs (DfkdError when another holds it)."""
    run_dir, path = Path(run_dir), lock_path(run_dir)
    created = not run_dir.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    f, owner = _open_locked(path)
    if f is None:
        raise _held(run_dir, owner)
    failed = True
    try:
        f.seek(0)
        f.truncate()
        f.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "command": command,
                            "started": time.strftime("%Y-%m-%d %H:%M:%S")}))
        f.flush()
        yield
        failed = False
    finally:
        path.unlink(missing_ok=True)  # before the flock drops: a waiting process then locks a fresh file
        f.close()
        if created and failed and run_dir.is_dir():
            _remove_if_unmade(run_dir)


def _remove_if_unmade(run_dir: Path) -> None:
    """A folder this attempt created, removed when it holds no work: only the run's own
    bookkeeping (config.yaml, backbone.json) and empty folders. A refused first attempt (a
    bad config, an unreadable image) then leaves nothing behind, as claim_folder expects."""
    files = [p for p in run_dir.rglob("*") if not p.is_dir()]
    if any(p.parent != run_dir or p.name not in BOOKKEEPING for p in files):
        return
    for p in files:
        p.unlink(missing_ok=True)
    for folder in sorted((p for p in run_dir.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        folder.rmdir()
    run_dir.rmdir()
