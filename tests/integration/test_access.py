"""Permissions are checked as the caller, and names resolve inside the
mount only."""
import errno
import os
import stat

from helpers import NOBODY, read_file, run_as, write_file


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

