"""Permissions are checked as the caller, and names resolve inside the
mount only."""
import errno
import os
import stat
import struct

from conftest import require
from helpers import NOBODY, expect_errno, read_file, run_as, write_file


def _read(path):
    read_file(path)


def _create(path, content):
    write_file(path, content, 0o644)


def test_other_users_private_file_is_unreadable(mnt):
    write_file(mnt.path("secret"), b"root only", 0o600)
    os.chmod(mnt.path("secret"), 0o600)
    assert run_as(NOBODY, NOBODY, _read, mnt.path("secret")) == errno.EACCES


def test_world_readable_file_is_readable_by_others(mnt):
    write_file(mnt.path("public"), b"for all")
    os.chmod(mnt.path("public"), 0o644)
    assert run_as(NOBODY, NOBODY, _read, mnt.path("public")) == 0


def test_user_cannot_create_in_root_owned_directory(mnt):
    os.chmod(mnt.mnt, 0o755)
    assert run_as(NOBODY, NOBODY, _create, mnt.path("f"), b"") == \
        errno.EACCES
    assert not os.path.lexists(mnt.backing_path("f"))


def test_file_created_by_user_in_sticky_dir_is_theirs(mnt):
    os.mkdir(mnt.path("pub"))
    os.chmod(mnt.path("pub"), 0o1777)
    assert run_as(NOBODY, NOBODY, _create, mnt.path("pub", "mine"),
                  b"nobody's") == 0
    for st in (os.stat(mnt.path("pub", "mine")),
               os.stat(mnt.backing_path("pub", "mine"))):
        assert (st.st_uid, st.st_gid) == (NOBODY, NOBODY)
    assert read_file(mnt.path("pub", "mine")) == b"nobody's"


def test_sticky_dir_protects_others_files(mnt):
    os.mkdir(mnt.path("pub"))
    os.chmod(mnt.path("pub"), 0o1777)
    write_file(mnt.path("pub", "roots"), b"")
    assert run_as(NOBODY, NOBODY, os.unlink, mnt.path("pub", "roots")) in \
        (errno.EPERM, errno.EACCES)
    assert os.path.exists(mnt.backing_path("pub", "roots"))


def test_user_cannot_chown_to_someone_else(mnt):
    os.mkdir(mnt.path("pub"))
    os.chmod(mnt.path("pub"), 0o1777)
    path = mnt.path("pub", "mine")
    assert run_as(NOBODY, NOBODY, _create, path, b"") == 0
    assert run_as(NOBODY, NOBODY, os.chown, path, 0, 0) == errno.EPERM
    assert os.stat(mnt.backing_path("pub", "mine")).st_uid == NOBODY


def _open_rdonly_trunc(path):
    os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_TRUNC))


def test_create_o_trunc_of_others_file_needs_write(mnt):
    """For a name it holds absent (here one BACKING got behind our back)
    the kernel sends create and checks only the directory. O_RDONLY with
    O_TRUNC still needs write permission, as in BACKING itself: without
    it, the daemon's truncate must not happen."""
    os.mkdir(mnt.path("pub"))
    os.chmod(mnt.path("pub"), 0o777)
    assert not os.path.lexists(mnt.path("pub", "f"))  # the kernel keeps this
    write_file(mnt.backing_path("pub", "f"), b"root's", 0o644)
    os.chmod(mnt.backing_path("pub", "f"), 0o644)
    assert run_as(NOBODY, NOBODY, _open_rdonly_trunc,
                  mnt.backing_path("pub", "f")) == errno.EACCES
    assert run_as(NOBODY, NOBODY, _open_rdonly_trunc,
                  mnt.path("pub", "f")) == errno.EACCES
    assert read_file(mnt.backing_path("pub", "f")) == b"root's"


def _acl(*entries):
    """A system.posix_acl_access value: (tag, perm, id) entries."""
    return struct.pack("<I", 2) + b"".join(
        struct.pack("<HHI", *e) for e in entries)


ACL_USER_OBJ, ACL_USER, ACL_GROUP_OBJ, ACL_MASK, ACL_OTHER = 1, 2, 4, 16, 32
ACL_NO_ID = 0xFFFFFFFF


def _set_acl_naming_nobody(path, mode, nobody_perm):
    """mode's bits for owner, group and other, and nobody_perm for
    nobody by name."""
    write_file(path, b"guarded", mode)
    os.chmod(path, mode)
    try:
        os.setxattr(path, "system.posix_acl_access", _acl(
            (ACL_USER_OBJ, (mode >> 6) & 7, ACL_NO_ID),
            (ACL_USER, nobody_perm, NOBODY),
            (ACL_GROUP_OBJ, (mode >> 3) & 7, ACL_NO_ID),
            (ACL_MASK, 7, ACL_NO_ID),
            (ACL_OTHER, mode & 7, ACL_NO_ID)))
    except OSError as e:
        require(e.errno != errno.EOPNOTSUPP, "BACKING without POSIX ACLs")
        raise


def test_posix_acl_in_backing_grants_and_denies(mnt):
    """An ACL decides on the mount as on BACKING: a user it names may read
    a file the mode bits keep from him, and may not read one they let all
    read. Checking the mode bits alone would show the first and deny the
    second."""
    _set_acl_naming_nobody(mnt.path("granted"), 0o600, 4)
    _set_acl_naming_nobody(mnt.path("denied"), 0o644, 0)
    for name, want in (("granted", 0), ("denied", errno.EACCES)):
        assert run_as(NOBODY, NOBODY, _read, mnt.backing_path(name)) == want
        assert run_as(NOBODY, NOBODY, _read, mnt.path(name)) == want
    os.chmod(mnt.path("granted"), 0o600)  # the ACL's mask now grants none
    assert run_as(NOBODY, NOBODY, _read, mnt.path("granted")) == \
        errno.EACCES


def _set_acl_granting_root(path):
    os.setxattr(path, "system.posix_acl_access", _acl(
        (ACL_USER_OBJ, 7, ACL_NO_ID), (ACL_USER, 4, 0),
        (ACL_GROUP_OBJ, 5, ACL_NO_ID), (ACL_MASK, 5, ACL_NO_ID),
        (ACL_OTHER, 5, ACL_NO_ID)))


def test_acl_set_by_owner_outside_group_clears_setgid(mnt):
    """An owner who is not in a setgid file's group and sets its access
    ACL loses the setgid bit, as chmod would take it (CVE-2016-7097); one
    in the group keeps it. The daemon sets the ACL in BACKING as root, who
    keeps the bit, so the kernel's FUSE_SETXATTR_ACL_KILL_SGID must be
    honoured. Files and directories, through the mount as in BACKING
    directly."""
    cases = [(kind + where, gid, want)
             for kind in ("file-", "dir-")
             for where, gid, want in (("outside", 0, 0),
                                      ("inside", NOBODY, 0o2000))]
    for name, gid, want in cases:
        for path in (mnt.path(name), mnt.backing_path("b" + name)):
            if name.startswith("dir-"):
                os.mkdir(path)
            else:
                write_file(path, b"x", 0o644)
            os.chown(path, NOBODY, gid)
            os.chmod(path, 0o2755)
            got = run_as(NOBODY, NOBODY, _set_acl_granting_root, path)
            require(got != errno.EOPNOTSUPP, "BACKING without POSIX ACLs")
            assert got == 0, (path, got)
            assert os.stat(path).st_mode & 0o7777 == want | 0o755, path


def _create_with_umask(path, umask, mode):
    old = os.umask(umask)
    try:
        if mode & stat.S_IFDIR:
            os.mkdir(path, mode & 0o7777)
        else:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, mode))
    finally:
        os.umask(old)


def test_default_acl_replaces_umask_as_in_backing(mnt):
    """Under a directory with a default ACL the new node's ACL comes from
    it and the umask does not apply; elsewhere the umask does. Creating
    through the mount and in BACKING directly must give the same modes."""
    os.mkdir(mnt.path("inherit"))
    try:
        os.setxattr(mnt.path("inherit"), "system.posix_acl_default", _acl(
            (ACL_USER_OBJ, 7, ACL_NO_ID), (ACL_USER, 7, NOBODY),
            (ACL_GROUP_OBJ, 5, ACL_NO_ID), (ACL_MASK, 7, ACL_NO_ID),
            (ACL_OTHER, 5, ACL_NO_ID)))
    except OSError as e:
        require(e.errno != errno.EOPNOTSUPP, "BACKING without POSIX ACLs")
        raise
    os.mkdir(mnt.path("plain"))
    for d in ("inherit", "plain"):
        for name, mode in (("file", stat.S_IFREG | 0o666),
                           ("dir", stat.S_IFDIR | 0o777)):
            _create_with_umask(mnt.path(d, name), 0o022, mode)
            _create_with_umask(mnt.backing_path(d, "b" + name), 0o022, mode)
            assert os.stat(mnt.path(d, name)).st_mode == \
                os.stat(mnt.backing_path(d, "b" + name)).st_mode, (d, name)
    assert os.stat(mnt.path("plain", "file")).st_mode & 0o777 == 0o644
    assert os.stat(mnt.path("inherit", "file")).st_mode & 0o777 == 0o664


def test_backing_without_acls_leaves_access_to_mode_bits(dirtyfs, tmpfs):
    """A BACKING without POSIX ACLs (ramfs has no xattrs at all) fails
    getxattr of an ACL with EOPNOTSUPP. The kernel, which consults the ACL
    of a file for anyone but its owner, must be told there is none: an
    error would fail every such access, read and search alike, even one
    the mode bits allow."""
    m = dirtyfs(backing=tmpfs("1M", "ramfs"))
    write_file(m.path("f"), b"public", 0o644)
    os.mkdir(m.path("d"), 0o755)
    write_file(m.path("d", "g"), b"in d", 0o644)
    expect_errno(errno.EOPNOTSUPP, os.getxattr, m.backing_path("f"),
                 "system.posix_acl_access")
    assert run_as(NOBODY, NOBODY, _read, m.path("f")) == 0
    assert run_as(NOBODY, NOBODY, os.listdir, m.path("d")) == 0
    assert run_as(NOBODY, NOBODY, _read, m.path("d", "g")) == 0
    os.chmod(m.path("f"), 0o640)
    assert run_as(NOBODY, NOBODY, _read, m.path("f")) == errno.EACCES


def test_dotdot_of_root_leaves_to_mountpoints_parent(mnt):
    up = os.stat(mnt.path(".."))
    parent = os.stat(os.path.dirname(mnt.mnt))
    backing_parent = os.stat(os.path.dirname(mnt.backing))
    assert (up.st_dev, up.st_ino) == (parent.st_dev, parent.st_ino)
    assert (up.st_dev, up.st_ino) != (backing_parent.st_dev,
                                      backing_parent.st_ino)


def test_backing_symlink_pointing_outside_is_only_text(mnt):
    os.symlink("/etc/passwd", mnt.backing_path("abs"))
    os.symlink("../../..", mnt.backing_path("up"))
    assert stat.S_ISLNK(os.lstat(mnt.path("abs")).st_mode)
    assert os.readlink(mnt.path("abs")) == "/etc/passwd"
    assert os.readlink(mnt.path("up")) == "../../.."

