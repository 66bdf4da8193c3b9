"""Privilege (issue 4, item 3): who may use the control names, and that a
mount shared with allow_other keeps users apart and stays inside BACKING.

Unprivileged callers come in three kinds, each run as a separate process
that reports its results as JSON:
  nobody       fork, then setgroups/setgid/setuid 65534;
  userns-root  uid 0 of a new user namespace (unshare --user
               --map-root-user): every capability, but in its own namespace;
  capless-root uid 0 of the host without CAP_SYS_ADMIN (setpriv, as in the
               man page's container recipe).
Each runs in a cgroup of its own, so that user.dirtyfs.stat has figures to
show that are that cgroup's and nobody else's.
"""
import errno
import json
import os
import shutil
import stat
import struct
import subprocess

import pytest

from cgroups import CgroupSet, as_nobody_in, v1_memory_root
from conftest import require
from helpers import (NOBODY, MiB, expect_errno, parse_stats, read_file,
                     run_as, run_in_child, write_file)

PYTHON = "/usr/bin/python3"
HOLD = ["cache_size=64M", "dirty_expire=3600"]
USER = 1000  # a second unprivileged uid (and gid), besides nobody
GROUP = 4242  # a group neither of them has by default
CHILD_TIMEOUT_S = 30

# A list of operations, each [op, args...], run in order; the result of
# each is its value, or ["errno", N] for an OSError. Paths are used as they
# are: a symlink is never followed.
OPS = r"""
import json, os, sys

def run(ops):
    results = []
    for op, *args in ops:
        try:
            if op == "get":
                r = os.getxattr(args[0], args[1], follow_symlinks=False)
                r = r.decode(errors="replace")
            elif op == "set":
                os.setxattr(args[0], args[1], args[2].encode(),
                            follow_symlinks=False)
                r = None
            elif op == "remove":
                os.removexattr(args[0], args[1], follow_symlinks=False)
                r = None
            elif op == "list":
                r = os.listxattr(args[0], follow_symlinks=False)
            elif op == "id":
                with open("/proc/self/uid_map") as f:
                    r = [os.getuid(), os.getgid(), f.read().split()]
            else:
                raise ValueError(op)
        except OSError as e:
            r = ["errno", e.errno]
        results.append(r)
    return results
"""
_ops_ns = {}
exec(OPS, _ops_ns)
SCRIPT = OPS + "\nprint(json.dumps(run(json.loads(sys.argv[1]))))\n"


def ops_as_nobody(ops, cgroup):
    """run(ops) in a forked child moved into cgroup, then uid and gid 65534
    with no supplementary groups; its results, through a pipe."""
    return as_nobody_in(cgroup, lambda: _ops_ns["run"](ops))


def ops_in_process(cgs, cgroup, prefix, ops):
    """run(ops) in `PREFIX python3 -c SCRIPT`, started inside cgroup."""
    done = cgs.run(cgroup, prefix + [PYTHON, "-c", SCRIPT, json.dumps(ops)],
                   timeout=CHILD_TIMEOUT_S)
    return json.loads(done.stdout)


USERNS = ["unshare", "--user", "--map-root-user"]
CAPLESS = ["setpriv", "--bounding-set", "-sys_admin", "--inh-caps",
           "-sys_admin"]
CALLERS = ["nobody", "userns-root", "capless-root"]


@pytest.fixture(autouse=True)
def need_root():
    require(os.geteuid() == 0, "these tests act as other users: need root")


def require_tool(name):
    require(shutil.which(name) is not None,
            name + " (util-linux) is not installed")


@pytest.fixture
def cgs(dirtyfs):
    """A CgroupSet in v1's memory hierarchy (what cgroup=auto uses here);
    torn down before the mounts."""
    root = v1_memory_root()
    require(root is not None, "no cgroup v1 memory controller mounted")
    s = CgroupSet(root)
    yield s
    s.close()


def run_ops(caller, cgs, cgroup, ops):
    if caller == "nobody":
        return ops_as_nobody(ops, cgroup)
    if caller == "userns-root":
        require_tool("unshare")
        require(subprocess.run(USERNS + ["true"],
                               capture_output=True).returncode == 0,
                "cannot make a user namespace (unshare --user)")
        return ops_in_process(cgs, cgroup, USERNS, ops)
    require_tool("setpriv")
    return ops_in_process(cgs, cgroup, CAPLESS, ops)


def err(code):
    return ["errno", code]


# --- the control names, for callers without CAP_SYS_ADMIN --------------------

@pytest.mark.parametrize("caller", CALLERS)
def test_unprivileged_caller_can_read_its_statistics_and_nothing_more(
        dirtyfs, cgs, caller):
    m = dirtyfs(HOLD)
    n = cgs.make("N")
    os.setxattr(m.mnt, "trusted.dirtyfs.dirty_limit:/x", b"1M")
    os.setxattr(m.mnt, "trusted.dirtyfs.dirty_limit:" + n.cgpath, b"8M")
    cgs.run(n, ["dd", "if=/dev/zero", "of=" + m.path("f"), "bs=1M",
                "count=1", "status=none"])
    # The VFS asks for write permission on the root before a user.* set
    # reaches dirtyfs: let it pass, so that the refusal is dirtyfs's.
    os.chmod(m.mnt, 0o777)
    root = m.mnt
    limit_x = "trusted.dirtyfs.dirty_limit:/x"
    ops = [
        ["id"],
        ["set", root, limit_x, "2M"],
        ["set", root, "trusted.dirtyfs.dirty_background_limit:/x", "1M"],
        ["set", root, "trusted.dirtyfs.dirty_limit:" + n.cgpath, "max"],
        ["remove", root, limit_x],
        ["set", root, "trusted.dirtyfs.sync", "/"],
        ["get", root, limit_x],
        ["get", root, "trusted.dirtyfs.stat"],
        ["get", root, "trusted.dirtyfs.stat:" + n.cgpath],
        ["get", root, "trusted.dirtyfs.cgroups"],
        ["get", root, "user.dirtyfs.stat"],
        ["set", root, "user.dirtyfs.stat", "1"],
        ["remove", root, "user.dirtyfs.stat"],
        ["get", root, "user.dirtyfs.stat"],
        ["list", root],
    ]
    (ident, set_x, set_bg_x, set_own, remove_x, sync, get_x, get_fs_stat,
     get_cg_stat, get_cgroups, user_stat, set_user_stat, remove_user_stat,
     user_stat_again, listed) = run_ops(caller, cgs, n, ops)

    if caller == "nobody":
        assert ident[:2] == [NOBODY, NOBODY]
    else:  # uid 0: in a namespace mapping 0 to 0, or the host's itself
        assert ident[0] == 0
        assert ident[2] == (["0", "0", "1"] if caller == "userns-root"
                            else ["0", "0", "4294967295"])
    # Changing anything under trusted.* takes CAP_SYS_ADMIN in the initial
    # user namespace: the VFS (fs/xattr.c, xattr_permission()) refuses
    # with EPERM before dirtyfs sees the request.
    for result in (set_x, set_bg_x, set_own, remove_x, sync):
        assert result == err(errno.EPERM), result
    # A read of a trusted.* name by such a caller gets ENODATA from the
    # same function: the kernel hides that the name exists at all, as for
    # any filesystem's trusted xattrs. (Root itself reads every one.)
    for result in (get_x, get_fs_stat, get_cg_stat, get_cgroups):
        assert result == err(errno.ENODATA), result
    # user.dirtyfs.stat: anyone reads it, and gets its own cgroup's figures.
    own = parse_stats(user_stat.encode())
    assert own["dirty"] == MiB
    assert own["dirty_limit"] == 8 * MiB
    # ...but nobody sets it (dirtyfs's EPERM: the VFS let it by), nor
    # removes it. (dirtyfs answers a remove ENODATA, though a get of the
    # same name succeeds; the interface names no errno for it.)
    assert set_user_stat == err(errno.EPERM)
    assert remove_user_stat in (err(errno.EPERM), err(errno.ENODATA))
    assert parse_stats(user_stat_again.encode())["dirty"] == MiB
    # The configuration is listed to CAP_SYS_ADMIN callers only.
    assert not [name for name in listed if "dirtyfs" in name], listed

    # Nothing changed, and root sees all of it.
    assert os.getxattr(m.mnt, limit_x) == b"1048576"
    assert os.getxattr(m.mnt, "trusted.dirtyfs.dirty_limit:" +
                       n.cgpath) == b"8388608"
    expect_errno(errno.ENODATA, os.getxattr, m.mnt,
                 "trusted.dirtyfs.dirty_background_limit:/x")
    assert parse_stats(os.getxattr(
        m.mnt, "trusted.dirtyfs.stat:" + n.cgpath))["dirty"] == MiB


def test_root_lists_the_configuration(dirtyfs):
    m = dirtyfs()
    os.setxattr(m.mnt, "trusted.dirtyfs.dirty_limit:/x", b"1M")
    os.setxattr(m.mnt, "trusted.dirtyfs.dirty_background_limit:/x", b"5%")
    listed = os.listxattr(m.mnt)
    assert "trusted.dirtyfs.dirty_limit:/x" in listed
    assert "trusted.dirtyfs.dirty_background_limit:/x" in listed
    dump = subprocess.run(["getfattr", "--absolute-names", "-d", "-m",
                           "trusted.dirtyfs", m.mnt], check=True,
                          capture_output=True, text=True).stdout
    assert 'trusted.dirtyfs.dirty_limit:/x="1048576"' in dump
    assert 'trusted.dirtyfs.dirty_background_limit:/x="5%"' in dump
    # The same root without CAP_SYS_ADMIN sees none of it.
    require_tool("setpriv")
    done = subprocess.run(CAPLESS + ["getfattr", "--absolute-names", "-d",
                                     "-m", "-", m.mnt],
                          capture_output=True, text=True,
                          timeout=CHILD_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    assert "dirtyfs" not in done.stdout


# --- reserved names off the root ---------------------------------------------

CONTROL_NAMES = [
    ("trusted.dirtyfs.dirty_limit:/x", "1M"),
    ("trusted.dirtyfs.dirty_background_limit:/x", "1M"),
    ("trusted.dirtyfs.stat", "1"),
    ("trusted.dirtyfs.stat:/", "1"),
    ("trusted.dirtyfs.cgroups", "1"),
    ("trusted.dirtyfs.sync", "/"),
    ("trusted.dirtyfs.nosuch", "1"),
    ("user.dirtyfs.stat", "1"),
    ("user.dirtyfs.nosuch", "1"),
]


def _refused_everywhere(paths, names):
    """Every get, set and remove of names on paths (links not followed)
    fails with ENOTSUP, and no listing shows a reserved name."""
    for path in paths:
        for name, value in names:
            for call, args in (
                    (os.getxattr, (path, name)),
                    (os.setxattr, (path, name, value.encode())),
                    (os.removexattr, (path, name))):
                try:
                    call(*args, follow_symlinks=False)
                except OSError as e:
                    assert e.errno == errno.ENOTSUP, (
                        call.__name__, path, name, errno.errorcode[e.errno])
                else:
                    raise AssertionError("%s %s %s succeeded" % (
                        call.__name__, path, name))
        assert not [n for n in os.listxattr(path, follow_symlinks=False)
                    if "dirtyfs" in n]


def test_reserved_names_are_refused_on_every_inode_but_the_root(mnt):
    os.makedirs(mnt.path("d", "e"))
    write_file(mnt.path("f"), b"tenant data")
    write_file(mnt.path("d", "e", "g"), b"deeper")
    os.symlink("f", mnt.path("l"))
    os.mkfifo(mnt.path("p"))
    os.mknod(mnt.path("c"), 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    regular_and_dirs = [mnt.path("f"), mnt.path("d"), mnt.path("d", "e"),
                        mnt.path("d", "e", "g")]
    _refused_everywhere(regular_and_dirs, CONTROL_NAMES)
    # user.* names on a symlink or device are the VFS's to refuse; the
    # trusted.* ones reach dirtyfs on every kind of inode.
    _refused_everywhere([mnt.path("l"), mnt.path("p"), mnt.path("c")],
                        [nv for nv in CONTROL_NAMES
                         if nv[0].startswith("trusted.")])
    # Nothing reached BACKING, and the root still answers.
    for rel in ("f", "d", "d/e/g"):
        assert not [n for n in os.listxattr(mnt.backing_path(rel))
                    if "dirtyfs" in n]
    os.setxattr(mnt.mnt, "trusted.dirtyfs.dirty_limit:/x", b"1M")
    assert os.getxattr(mnt.mnt, "trusted.dirtyfs.dirty_limit:/x") == \
        b"1048576"


def test_reserved_names_are_refused_on_a_users_own_file(mnt):
    os.chmod(mnt.mnt, 0o1777)
    write_file(mnt.path("root-file"), b"x")
    names = [nv for nv in CONTROL_NAMES if nv[0].startswith("user.")]

    def as_owner():
        write_file(mnt.path("mine"), b"nobody's")
        os.mkdir(mnt.path("mydir"))
        _refused_everywhere([mnt.path("mine"), mnt.path("mydir")], names)

    assert run_as(NOBODY, NOBODY, as_owner) == 0


# --- allow_other: users apart ------------------------------------------------

def _read(path):
    read_file(path)


def _open_for_writing(path):
    os.close(os.open(path, os.O_WRONLY))


def test_another_user_cannot_read_a_0600_file(mnt):
    os.chmod(mnt.mnt, 0o1777)
    secret = mnt.path("secret")

    def create_private():
        write_file(secret, b"user 1000 only", 0o600)
        os.mkdir(mnt.path("private"), 0o700)
        write_file(mnt.path("private", "f"), b"")

    assert run_as(USER, USER, create_private) == 0
    assert stat.S_IMODE(os.stat(mnt.backing_path("secret")).st_mode) == 0o600
    assert run_as(NOBODY, NOBODY, _read, secret) == errno.EACCES
    assert run_as(NOBODY, NOBODY, _open_for_writing, secret) == errno.EACCES
    assert run_as(NOBODY, NOBODY, os.listdir, mnt.path("private")) == \
        errno.EACCES
    assert run_as(NOBODY, NOBODY, _read, mnt.path("private", "f")) == \
        errno.EACCES
    # The owner can: the refusals were about who asked.
    assert run_as(USER, USER, _read, secret) == 0
    assert run_as(USER, USER, _open_for_writing, secret) == 0
    assert read_file(secret) == b"user 1000 only"


def _create_all_kinds(dirpath):
    write_file(os.path.join(dirpath, "file"), b"mine")
    os.mkdir(os.path.join(dirpath, "dir"))
    os.symlink("file", os.path.join(dirpath, "link"))
    os.mkfifo(os.path.join(dirpath, "fifo"))
    os.link(os.path.join(dirpath, "file"), os.path.join(dirpath, "hard"))


@pytest.mark.parametrize("uid,gid", [(NOBODY, NOBODY), (USER, GROUP)])
def test_files_created_by_a_user_are_owned_by_it_in_backing(mnt, uid, gid):
    os.chmod(mnt.mnt, 0o1777)
    os.mkdir(mnt.path("home"))
    os.chown(mnt.path("home"), uid, gid)
    assert run_as(uid, gid, _create_all_kinds, mnt.path("home")) == 0
    for name in ("file", "dir", "link", "fifo", "hard"):
        for path in (mnt.path("home", name), mnt.backing_path("home", name)):
            st = os.lstat(path)
            assert (st.st_uid, st.st_gid) == (uid, gid), (path, st)


def test_file_created_in_a_setgid_directory_takes_its_group(mnt):
    os.chmod(mnt.mnt, 0o1777)
    os.mkdir(mnt.path("shared"))
    os.chown(mnt.path("shared"), 0, GROUP)
    os.chmod(mnt.path("shared"), 0o2777)
    assert run_as(NOBODY, NOBODY, _create_all_kinds, mnt.path("shared")) == 0
    for path in (mnt.path("shared", "file"),
                 mnt.backing_path("shared", "file")):
        st = os.stat(path)
        assert (st.st_uid, st.st_gid) == (NOBODY, GROUP), path
    st = os.stat(mnt.backing_path("shared", "dir"))
    assert (st.st_uid, st.st_gid) == (NOBODY, GROUP)
    assert st.st_mode & stat.S_ISGID, "a new directory inherits setgid"


def _overwrite_start(path):
    fd = os.open(path, os.O_WRONLY)
    try:
        assert os.pwrite(fd, b"NEW", 0) == 3
    finally:
        os.close(fd)


def _truncate(path):
    os.truncate(path, 3)


def _open_truncating(path):
    os.close(os.open(path, os.O_WRONLY | os.O_TRUNC))


def _setuid_tool(mnt, mode):
    """A file of USER and GROUP with mode, through the mount."""
    path = mnt.path("tool")
    write_file(path, b"old contents")
    os.chown(path, USER, GROUP)
    os.chmod(path, mode)  # after chown, which clears the bits itself
    for p in (path, mnt.backing_path("tool")):
        assert stat.S_IMODE(os.stat(p).st_mode) == mode, p
    return path


def _modes(mnt):
    return [stat.S_IMODE(os.stat(p).st_mode)
            for p in (mnt.path("tool"), mnt.backing_path("tool"))]


@pytest.mark.parametrize("change,after", [(_overwrite_start, b"NEW contents"),
                                          (_truncate, b"old"),
                                          (_open_truncating, b"")],
                         ids=["write", "truncate", "open-O_TRUNC"])
def test_write_by_a_non_owner_clears_setuid_and_setgid(mnt, change, after):
    path = _setuid_tool(mnt, 0o6770)
    # nobody, in the file's group: may write, does not own it, and has no
    # CAP_FSETID. The kernel flags the request (FUSE_HANDLE_KILLPRIV_V2)
    # and dirtyfs clears the bits, as the writer could not chmod.
    code = run_as(NOBODY, GROUP, change, path)
    assert code == 0, errno.errorcode.get(code, code)
    assert read_file(path) == after
    assert _modes(mnt) == [0o770, 0o770]


def test_setgid_without_group_execute_is_kept(mnt):
    """That combination marks mandatory locking, not a privilege."""
    path = _setuid_tool(mnt, 0o6760)
    code = run_as(NOBODY, GROUP, _overwrite_start, path)
    assert code == 0, errno.errorcode.get(code, code)
    assert _modes(mnt) == [0o2760, 0o2760]


def test_write_with_cap_fsetid_keeps_setuid_and_setgid(mnt):
    path = _setuid_tool(mnt, 0o6770)
    assert run_in_child(_overwrite_start, path) == 0  # root: CAP_FSETID
    assert _modes(mnt) == [0o6770, 0o6770]


def test_write_clears_setuid_the_kernel_has_not_seen(mnt):
    """The bits set in BACKING behind the mount, while the kernel's cached
    mode has none: only the request's flag can tell dirtyfs to clear them
    (were the kernel's attributes refreshed, it would ask itself)."""
    path = _setuid_tool(mnt, 0o770)
    run_as(NOBODY, GROUP, _overwrite_start, path)  # kernel: nothing to kill
    os.chmod(mnt.backing_path("tool"), 0o6770)
    code = run_as(NOBODY, GROUP, _overwrite_start, path)
    assert code == 0, errno.errorcode.get(code, code)
    assert stat.S_IMODE(os.stat(mnt.backing_path("tool")).st_mode) == 0o770


def _create_truncating(path, mode):
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode))


@pytest.mark.parametrize("uid,mode,after", [(NOBODY, 0o644, 0o770),
                                            (0, 0o755, 0o6770)],
                         ids=["nobody", "root"])
def test_create_over_a_file_put_in_backing_clears_setuid_as_open_does(
        mnt, uid, mode, after):
    """The kernel sends CREATE, not OPEN, for a name it has cached as
    absent: here one that appeared in BACKING behind the mount. Its flag
    to clear the bits comes after the mode in the request: a mode with
    other-execute (bit 0) must not be taken for it."""
    os.mkdir(mnt.path("d"))
    os.chmod(mnt.path("d"), 0o777)  # O_CREAT needs a writable directory
    path, backing = mnt.path("d", "tool"), mnt.backing_path("d", "tool")
    expect_errno(errno.ENOENT, os.stat, path)  # cached as absent
    write_file(backing, b"old contents")
    os.chown(backing, USER, GROUP)
    os.chmod(backing, 0o6770)
    code = run_as(uid, GROUP, _create_truncating, path, mode)
    assert code == 0, errno.errorcode.get(code, code)
    assert read_file(path) == b""
    assert stat.S_IMODE(os.stat(backing).st_mode) == after


# struct vfs_cap_data, revision 2: magic, then permitted and inheritable
# (two 32-bit words each); CAP_NET_BIND_SERVICE (10) permitted.
FILE_CAPS = struct.pack("<5I", 0x02000000, 1 << 10, 0, 0, 0)


def test_write_removes_file_capabilities(mnt):
    path = mnt.path("tool")
    write_file(path, b"old contents")
    os.setxattr(path, "security.capability", FILE_CAPS)
    assert os.getxattr(mnt.backing_path("tool"),
                       "security.capability") == FILE_CAPS
    assert run_in_child(_overwrite_start, path) == 0
    for p in (path, mnt.backing_path("tool")):
        expect_errno(errno.ENODATA, os.getxattr, p, "security.capability")


def test_writes_do_not_ask_for_file_capabilities_each_time(dirtyfs):
    """With FUSE_HANDLE_KILLPRIV_V2 the kernel asks for security.capability
    once, until something may have changed it; without, before every write
    (a second round trip per write). Counted in libfuse's debug log."""
    m = dirtyfs(["debug"], errors_expected=True)  # the log says "error: -61"
    path = m.path("f")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.pwrite(fd, b"first", 0)
        before = m.log_text().count("opcode: GETXATTR")
        for i in range(20):
            os.pwrite(fd, b"%d" % i, 4096 * i)
    finally:
        os.close(fd)
    assert m.log_text().count("opcode: GETXATTR") == before


# --- nothing outside BACKING -------------------------------------------------

def test_backing_symlink_to_outside_is_only_text(mnt):
    """BACKING/l -> ../outside names a file beside BACKING. Through the
    mount it is a symlink with that text, which the kernel resolves from
    the mountpoint's parent: the daemon never opens what lies outside."""
    store = os.path.dirname(mnt.backing)
    write_file(os.path.join(store, "outside"), b"beside BACKING")
    os.symlink("../outside", mnt.backing_path("l"))
    assert stat.S_ISLNK(os.lstat(mnt.path("l")).st_mode)
    assert os.readlink(mnt.path("l")) == "../outside"
    entry = next(e for e in os.scandir(mnt.mnt) if e.name == "l")
    assert entry.is_symlink() and not entry.is_file(follow_symlinks=False)
    # mnt/../outside does not exist yet...
    assert not os.path.lexists(os.path.join(os.path.dirname(mnt.mnt),
                                            "outside"))
    expect_errno(errno.ENOENT, read_file, mnt.path("l"))
    # ...and once it does, that is what the link leads to.
    write_file(os.path.join(os.path.dirname(mnt.mnt), "outside"),
               b"beside the mountpoint")
    assert read_file(mnt.path("l")) == b"beside the mountpoint"


def test_dotdot_at_the_mount_root_stays_at_the_mountpoints_parent(mnt):
    os.makedirs(mnt.path("d", "e"))
    parent = os.stat(os.path.dirname(mnt.mnt))
    backing_parent = os.stat(os.path.dirname(mnt.backing))
    assert (parent.st_dev, parent.st_ino) != (backing_parent.st_dev,
                                              backing_parent.st_ino)
    for path in (mnt.path(".."), mnt.path("d", "..", ".."),
                 mnt.path("d", "e", "..", "..", "..")):
        st = os.stat(path)
        assert (st.st_dev, st.st_ino) == (parent.st_dev, parent.st_ino), path
    fd = os.open(mnt.mnt, os.O_RDONLY | os.O_DIRECTORY)
    try:
        st = os.stat("..", dir_fd=fd)
        assert (st.st_dev, st.st_ino) == (parent.st_dev, parent.st_ino)
        up = os.open("..", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        try:
            assert sorted(os.listdir(up)) == sorted(
                os.listdir(os.path.dirname(mnt.mnt)))
        finally:
            os.close(up)
    finally:
        os.close(fd)
    # A relative walk upwards from inside the mount, as another user.
    def climb():
        os.chdir(mnt.path("d", "e"))
        st = os.stat("../../..")
        if (st.st_dev, st.st_ino) != (parent.st_dev, parent.st_ino):
            raise OSError(errno.EXDEV, "left through the wrong parent")

    assert run_as(NOBODY, NOBODY, climb) == 0


def test_backing_directory_symlink_to_root_is_not_followed(mnt):
    os.symlink("/", mnt.backing_path("sub"))
    os.mkdir(mnt.backing_path("real"))
    names = {e.name: e for e in os.scandir(mnt.mnt)}
    assert set(names) == {"sub", "real"}
    assert names["sub"].is_symlink()
    assert not names["sub"].is_dir(follow_symlinks=False)
    assert names["real"].is_dir(follow_symlinks=False)
    st = os.lstat(mnt.path("sub"))
    assert stat.S_ISLNK(st.st_mode), oct(st.st_mode)
    assert st.st_size == 1
    assert os.readlink(mnt.path("sub")) == "/"
    # A walk of the mount that does not follow links finds only BACKING's.
    seen = [os.path.relpath(os.path.join(d, n), mnt.mnt)
            for d, dirs, files in os.walk(mnt.mnt) for n in dirs + files]
    assert sorted(seen) == ["real", "sub"]
    # Lookups under the link are the kernel's, from the real root.
    assert os.stat(mnt.path("sub", "proc")).st_ino == os.stat("/proc").st_ino
