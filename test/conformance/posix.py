#!/usr/bin/env python3
"""POSIX conformance cases for stdchk's mount, run as differential tests.

Runs every case in a folder given with --root and prints one JSON object:
{"cases": {id: result}}. The same cases run in a local folder and in the
mount must give the same results (test/integration/posix-conformance.test.ts
compares them); docs/mount.md lists what differs by design.

A case: entries made by root in its own folder (the setup), one system call
made by a given user (root, or an unprivileged uid through seteuid, so the
kernel checks that user's permissions), and what is observed afterwards as
root: the call's return value or errno, and for every entry of the case its
type, mode, owner, size, nlink, rdev, which entries share an inode, the
content of regular files and symlinks, and its times as "old" (set before
the call), "new" (set by the call) or the constant the call set. Access
times are observed only where a call sets them explicitly (relatime and the
mount's lack of atime updates on reads differ by design).

All setups run first, then the calls, at least 50 ms later, so that a time
set by a call is distinguishable from one set by the setup on any clock.

Usage: posix.py --root DIR [--list] [--only SUBSTRING]   (as root)
"""

import argparse
import concurrent.futures
import ctypes
import errno
import json
import os
import signal
import socket
import stat
import sys
import time

# ---------------------------------------------------------------- users

ROOT, ALICE, BOB, CAROL = 'root', 'alice', 'bob', 'carol'
# uid, gid, supplementary groups. Alice owns most entries; carol is in alice's group; bob is a stranger.
USERS = {
    ROOT: (0, 0, []),
    ALICE: (40001, 40001, [40001]),
    BOB: (40002, 40002, [40002]),
    CAROL: (40003, 40003, [40003, 40001]),
}
NAMES = {uid: name for name, (uid, _, _) in USERS.items()}
GROUPS = {0: 'root', 40001: 'alice', 40002: 'bob', 40003: 'carol', 40009: 'g9'}
GID = {v: k for k, v in GROUPS.items()}


def become(user):
    uid, gid, groups = USERS[user]
    if uid == 0:
        return
    os.setgroups(groups)
    os.setegid(gid)
    os.seteuid(uid)


def back_to_root():
    os.seteuid(0)
    os.setegid(0)
    os.setgroups([])


# ---------------------------------------------------------------- system calls not in os

libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2


class Timespec(ctypes.Structure):
    _fields_ = [('tv_sec', ctypes.c_long), ('tv_nsec', ctypes.c_long)]


def _timespec(t):
    if t == 'now':
        return Timespec(0, UTIME_NOW)
    if t == 'omit':
        return Timespec(0, UTIME_OMIT)
    return Timespec(int(t), round((t - int(t)) * 1e9))


def utimensat(path, atime, mtime, nofollow=False):
    """utimensat(2); atime/mtime: seconds, 'now' or 'omit'; both None: times NULL."""
    times = None if atime is None and mtime is None else (Timespec * 2)(_timespec(atime), _timespec(mtime))
    flags = AT_SYMLINK_NOFOLLOW if nofollow else 0
    if libc.utimensat(AT_FDCWD, path.encode(), times, flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), path)
    return 0


class Dirent(ctypes.Structure):
    _fields_ = [
        ('d_ino', ctypes.c_uint64),
        ('d_off', ctypes.c_int64),
        ('d_reclen', ctypes.c_ushort),
        ('d_type', ctypes.c_ubyte),
        ('d_name', ctypes.c_char * 256),
    ]


libc.opendir.restype = ctypes.c_void_p
libc.opendir.argtypes = [ctypes.c_char_p]
libc.readdir.restype = ctypes.POINTER(Dirent)
libc.readdir.argtypes = [ctypes.c_void_p]
libc.closedir.argtypes = [ctypes.c_void_p]
DT = {1: 'fifo', 2: 'chr', 4: 'dir', 6: 'blk', 8: 'reg', 10: 'symlink', 12: 'sock', 0: 'unknown'}


def readdir_types(path):
    """Names and d_type of a folder, as readdir(3) returns them (what find and ls -l rely on)."""
    d = libc.opendir(path.encode())
    if not d:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), path)
    out = []
    try:
        while True:
            ctypes.set_errno(0)
            ent = libc.readdir(d)
            if not ent:
                break
            name = ent.contents.d_name.decode()
            if name not in ('.', '..'):
                out.append(f'{name}:{DT.get(ent.contents.d_type, "?")}')
    finally:
        libc.closedir(d)
    return sorted(out)


# ---------------------------------------------------------------- entries

S_IF = {'fifo': stat.S_IFIFO, 'chr': stat.S_IFCHR, 'blk': stat.S_IFBLK, 'sock': stat.S_IFSOCK, 'reg': stat.S_IFREG}
CONTENT = b'hello, world\n'
T1 = 1_000_000_000.25  # times a case sets, on a millisecond (the mount keeps milliseconds)
T2 = 1_200_000_000.5
T3 = 1_300_000_000.0
CONSTANTS = {T1: 'T1', T2: 'T2', T3: 'T3'}
LONG = 'L' * 255
TOO_LONG = 'L' * 256


def append(path, data):
    with open(path, 'ab') as f:
        f.write(data)


def bind_socket(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.bind(path)
    finally:
        s.close()


def make(base, name, kind, mode=None, owner=ALICE, group=None, content=CONTENT, target='reg', rdev=(1, 3), of=None):
    """Makes one setup entry `name` in the folder `base` (as root) and gives it its owner and mode."""
    path = os.path.join(base, name)
    if kind == 'reg':
        with open(path, 'wb') as f:
            f.write(content)
    elif kind == 'empty':
        open(path, 'wb').close()
    elif kind in ('dir', 'dirfull'):
        os.mkdir(path)
        if kind == 'dirfull':
            with open(os.path.join(path, 'inner'), 'wb') as f:
                f.write(b'x')
    elif kind in ('symlink', 'dangling', 'dirlink'):
        os.symlink({'symlink': target, 'dangling': 'nowhere', 'dirlink': target}[kind], path)
    elif kind in ('fifo',):
        os.mkfifo(path)
    elif kind in ('chr', 'blk'):
        os.mknod(path, S_IF[kind] | 0o600, os.makedev(*rdev))
    elif kind == 'sock':
        bind_socket(path)
    elif kind == 'hardlink':
        os.link(os.path.join(base, of), path)
        return
    else:
        raise ValueError(kind)
    uid = USERS[owner][0]
    gid = GID[group] if group else USERS[owner][1]
    os.lchown(path, uid, gid)
    if kind not in ('symlink', 'dangling', 'dirlink'):
        default = 0o755 if kind in ('dir', 'dirfull') else 0o644
        os.chmod(path, default if mode is None else mode)


def kind_of(st):
    m = st.st_mode
    for name, test in (
        ('reg', stat.S_ISREG),
        ('dir', stat.S_ISDIR),
        ('symlink', stat.S_ISLNK),
        ('fifo', stat.S_ISFIFO),
        ('sock', stat.S_ISSOCK),
        ('chr', stat.S_ISCHR),
        ('blk', stat.S_ISBLK),
    ):
        if test(m):
            return name
    return '?'


class Clock:
    """Labels a time: a constant a case set, 'new' (after the setups ended) or 'old'."""

    def __init__(self):
        self.boundary = None

    def label(self, t_ns):
        t = t_ns / 1e9
        for value, name in CONSTANTS.items():
            if abs(t - value) < 0.0005:
                return name
        if self.boundary is None:
            return 'old'
        return 'new' if t >= self.boundary else 'old'


def observe(paths, clock, atimes, inodes):
    """What root sees of each path after the call (lstat, content, link target)."""
    out = {}
    for p in paths:
        try:
            st = os.lstat(p)
        except OSError as e:
            out[p] = errno.errorcode.get(e.errno, str(e.errno))
            continue
        k = kind_of(st)
        o = {
            'type': k,
            'mode': oct(stat.S_IMODE(st.st_mode)),
            'uid': NAMES.get(st.st_uid, st.st_uid),
            'gid': GROUPS.get(st.st_gid, st.st_gid),
            'nlink': st.st_nlink,
            'mtime': clock.label(st.st_mtime_ns),
            'ctime': clock.label(st.st_ctime_ns),
        }
        # Which observed entries are one inode (hard links), as a class number, not the number itself.
        o['inode'] = inodes.setdefault(st.st_ino, len(inodes))
        if atimes is True or (atimes and p in atimes):
            o['atime'] = clock.label(st.st_atime_ns)
        if k in ('chr', 'blk'):
            o['rdev'] = [os.major(st.st_rdev), os.minor(st.st_rdev)]
        if k == 'reg':
            o['size'] = st.st_size
            try:
                with open(p, 'rb') as f:
                    o['content'] = f.read(64).decode('latin-1')
            except OSError as e:
                o['content'] = errno.errorcode.get(e.errno, str(e.errno))
        if k == 'symlink':
            o['size'] = st.st_size
            o['target'] = os.readlink(p)
        out[p] = o
    return out


# ---------------------------------------------------------------- cases


# Differences by design (docs/mount.md, "Known differences"): such cases are left out of a
# run unless --known is given (then they run too, and are expected to differ).
KNOWN = {
    'ctime-only': 'chown(-1, -1) (or to the same owner by a setattr that carries no mode) does not change ctime: '
    'libfuse 2 drops a setattr with nothing but the ctime',
    'sgid-no-exec': 'a write or truncate by a user outside the group does not clear setgid on a file that is '
    'not group-executable: the kernel leaves that to the FUSE server, which is not told the writer',
    'rename-flags': 'renameat2 with RENAME_NOREPLACE or RENAME_EXCHANGE is EINVAL: libfuse 2 has no rename flags',
}


class Case:
    def __init__(self, id, call, user=ROOT, setup=(), watch=(), top=None, atimes=False, umask=0o022, known=None):
        if known is not None and known not in KNOWN:
            raise ValueError(f'{id}: unknown difference {known}')
        self.known = known
        self.id = id
        self.call = call
        self.user = user
        self.setup = list(setup)
        self.watch = list(watch)
        # The case's own folder: (mode, owner, group).
        self.top = top or (0o755, ALICE, None)
        self.atimes = atimes
        self.umask = umask


CASES = []
IDS = set()


def case(*args, **kw):
    c = Case(*args, **kw)
    if c.id in IDS:
        raise ValueError(f'duplicate case id {c.id}')
    IDS.add(c.id)
    # One entry per name: the first wins (symlink setups each bring their target).
    seen = set()
    c.setup = [e for e in c.setup if not (e[0] in seen or seen.add(e[0]))]
    CASES.append(c)


def entry(name, kind, **attrs):
    return (name, kind, attrs)


# Kinds an existing entry can have, with what a setup makes for each.
KINDS = ['reg', 'empty', 'dir', 'dirfull', 'symlink', 'dangling', 'fifo', 'sock', 'chr', 'blk']
TOPS = {
    'own': (0o755, ALICE, None),  # alice's folder
    'sticky': (0o1777, ROOT, None),  # /tmp-like
    'sticky-alice': (0o1777, ALICE, None),  # sticky, owned by alice (she may remove anything in it)
    'shared': (0o775, ALICE, None),  # alice's, group-writable (carol may write)
    'setgid': (0o2775, ALICE, 'g9'),  # new entries take group g9
    'closed': (0o555, ALICE, None),  # nobody but root may write
}


def existing(kind, name='t', **attrs):
    """Setup entries for an existing `kind` at `name` (symlinks point at a file 'reg' made too)."""
    if kind == 'symlink':
        return [entry('reg', 'reg'), entry(name, 'symlink', target='reg', **attrs)]
    if kind == 'dirlink':
        return [entry('d', 'dir'), entry(name, 'dirlink', target='d', **attrs)]
    return [entry(name, kind, **attrs)]


def names_of(setup):
    return [n for n, _, _ in setup]


def rdev_pair(kind):
    return (8, 1) if kind == 'blk' else (1, 3)


# --- mknod and mkfifo ------------------------------------------------------

NEW_KINDS = ['fifo', 'chr', 'blk', 'sock', 'reg']
for k in NEW_KINDS:
    for where in ('own', 'sticky', 'closed', 'setgid'):
        for user in (ROOT, ALICE, BOB, CAROL):
            case(
                f'mknod/{k}/{where}/{user}',
                lambda k=k: os.mknod('x', S_IF[k] | 0o640, os.makedev(*rdev_pair(k)) if k in ('chr', 'blk') else 0),
                user=user,
                top=TOPS[where],
                watch=['x'],
            )
for k in KINDS:
    for new in ('fifo', 'chr'):
        case(f'mknod/{new}/over-{k}', lambda new=new: os.mknod('t', S_IF[new] | 0o644, 0), setup=existing(k), watch=['t'])
for mode in (0, 0o777, 0o4755, 0o2755, 0o1777, 0o7777, 0o600):
    for k in ('fifo', 'chr', 'sock'):
        case(f'mknod/{k}/mode-{mode:o}', lambda mode=mode, k=k: os.mknod('x', S_IF[k] | mode, 0), watch=['x'])
for major, minor in ((1, 3), (1, 5), (5, 0), (4, 1), (136, 5), (10, 200), (259, 1048575), (4095, 255)):
    case(f'mknod/chr/rdev-{major}-{minor}', lambda a=major, b=minor: os.mknod('x', stat.S_IFCHR | 0o600, os.makedev(a, b)), watch=['x'])
for major, minor in ((8, 0), (8, 17), (253, 3), (7, 0)):
    case(f'mknod/blk/rdev-{major}-{minor}', lambda a=major, b=minor: os.mknod('x', stat.S_IFBLK | 0o600, os.makedev(a, b)), watch=['x'])
for k in ('fifo', 'chr', 'reg'):
    case(f'mknod/{k}/parent-missing', lambda k=k: os.mknod('no/x', S_IF[k] | 0o644, 0))
    case(f'mknod/{k}/parent-is-file', lambda k=k: os.mknod('f/x', S_IF[k] | 0o644, 0), setup=[entry('f', 'reg')], watch=['f'])
    case(f'mknod/{k}/name-255', lambda k=k: os.mknod(LONG, S_IF[k] | 0o644, 0), watch=[LONG])
    case(f'mknod/{k}/name-256', lambda k=k: os.mknod(TOO_LONG, S_IF[k] | 0o644, 0))
for umask in (0, 0o077, 0o002):
    case(f'mknod/fifo/umask-{umask:o}', lambda: os.mknod('x', stat.S_IFIFO | 0o666, 0), watch=['x'], umask=umask)
for user in (ROOT, ALICE, BOB, CAROL):
    for where in ('own', 'sticky', 'shared'):
        case(f'mkfifo/{where}/{user}', lambda: os.mkfifo('x', 0o664), user=user, top=TOPS[where], watch=['x'])

# --- binding a Unix socket ------------------------------------------------------

for user in (ROOT, ALICE, BOB):
    for where in ('own', 'sticky', 'closed'):
        case(f'bind/{where}/{user}', lambda: bind_socket('s'), user=user, top=TOPS[where], watch=['s'])
for k in ('reg', 'fifo', 'sock', 'dir', 'symlink', 'dangling'):
    case(f'bind/over-{k}', lambda: bind_socket('t'), setup=existing(k), watch=['t'])
for umask in (0, 0o077):
    case(f'bind/umask-{umask:o}', lambda: bind_socket('s'), watch=['s'], umask=umask)

# --- mkdir ------------------------------------------------------------------------

for where in TOPS:
    for user in (ROOT, ALICE, BOB, CAROL):
        case(f'mkdir/{where}/{user}', lambda: os.mkdir('x', 0o755), user=user, top=TOPS[where], watch=['x', '.'])
for mode in (0, 0o700, 0o777, 0o1777, 0o2755, 0o4755, 0o7777):
    case(f'mkdir/mode-{mode:o}', lambda mode=mode: os.mkdir('x', mode), watch=['x'])
    case(f'mkdir/mode-{mode:o}/setgid-parent', lambda mode=mode: os.mkdir('x', mode), top=TOPS['setgid'], watch=['x'])
for k in KINDS:
    case(f'mkdir/over-{k}', lambda: os.mkdir('t'), setup=existing(k), watch=['t', '.'])
case('mkdir/parent-missing', lambda: os.mkdir('no/x'))
case('mkdir/parent-is-file', lambda: os.mkdir('f/x'), setup=[entry('f', 'reg')])
case('mkdir/parent-is-fifo', lambda: os.mkdir('p/x'), setup=[entry('p', 'fifo')])
case('mkdir/through-dirlink', lambda: os.mkdir('l/x'), setup=existing('dirlink', 'l'), watch=['d', 'd/x'])
case('mkdir/name-255', lambda: os.mkdir(LONG), watch=[LONG])
case('mkdir/name-256', lambda: os.mkdir(TOO_LONG))
case('mkdir/nested-nlink', lambda: [os.mkdir(p) for p in ('a', 'a/b', 'a/c', 'a/b/d')], watch=['.', 'a', 'a/b', 'a/c', 'a/b/d'])
case('mkdir/in-subfolder', lambda: os.mkdir('d/x'), setup=[entry('d', 'dir')], watch=['.', 'd', 'd/x'])
for umask in (0, 0o077, 0o027):
    case(f'mkdir/umask-{umask:o}', lambda: os.mkdir('x', 0o777), watch=['x'], umask=umask)

# --- rmdir ------------------------------------------------------------------------

for k in KINDS + ['dirlink']:
    case(f'rmdir/{k}', lambda: os.rmdir('t'), setup=existing(k), watch=['t', '.'])
case('rmdir/missing', lambda: os.rmdir('nope'))
case('rmdir/dot', lambda: os.rmdir('d/.'), setup=[entry('d', 'dir')], watch=['d'])
case('rmdir/nested', lambda: os.rmdir('d/e'), setup=[entry('d', 'dir'), entry('d/e', 'dir')], watch=['.', 'd', 'd/e'])
case('rmdir/with-fifo-inside', lambda: os.rmdir('d'), setup=[entry('d', 'dir'), entry('d/p', 'fifo')], watch=['d', 'd/p'])
for where in ('own', 'sticky', 'shared', 'closed'):
    for user in (ROOT, ALICE, BOB, CAROL):
        for owner in (ALICE, BOB):
            case(
                f'rmdir/{where}/{owner}s/by-{user}',
                lambda: os.rmdir('t'),
                user=user,
                top=TOPS[where],
                setup=[entry('t', 'dir', owner=owner)],
                watch=['t', '.'],
            )

# --- unlink -----------------------------------------------------------------------

for k in KINDS + ['dirlink']:
    case(f'unlink/{k}', lambda: os.unlink('t'), setup=existing(k), watch=['t', '.'] + (['reg'] if k == 'symlink' else []))
case('unlink/missing', lambda: os.unlink('nope'))
case('unlink/through-file', lambda: os.unlink('f/x'), setup=[entry('f', 'reg')])
for k in ('reg', 'fifo', 'chr', 'sock', 'symlink'):
    case(
        f'unlink/hardlinked-{k}',
        lambda: os.unlink('t'),
        setup=existing(k) + [entry('u', 'hardlink', of='t')],
        watch=['t', 'u', '.'],
    )
case(
    'unlink/one-of-three-links',
    lambda: os.unlink('d/b'),
    setup=[entry('d', 'dir'), entry('a', 'reg'), entry('d/b', 'hardlink', of='a'), entry('c', 'hardlink', of='a')],
    watch=['a', 'd/b', 'c', 'd', '.'],
)
for where in ('own', 'sticky', 'shared', 'closed'):
    for user in (ROOT, ALICE, BOB, CAROL):
        for k in ('reg', 'fifo', 'sock'):
            case(
                f'unlink/{where}/{k}/by-{user}',
                lambda: os.unlink('t'),
                user=user,
                top=TOPS[where],
                setup=[entry('t', k, mode=0o666)],
                watch=['t', '.'],
            )
    for user in (BOB, ALICE):
        case(
            f'unlink/{where}/bobs-file/by-{user}',
            lambda: os.unlink('t'),
            user=user,
            top=TOPS[where],
            setup=[entry('t', 'reg', owner=BOB)],
            watch=['t', '.'],
        )

# --- rename -----------------------------------------------------------------------

SRC_KINDS = ['reg', 'empty', 'dir', 'dirfull', 'symlink', 'fifo', 'sock', 'chr', 'blk']
DST_KINDS = ['absent', 'reg', 'dir', 'dirfull', 'symlink', 'fifo', 'sock', 'chr']


def rename_setup(src, dst, sdir, ddir):
    s = [entry('d1', 'dir'), entry('d2', 'dir')]
    s += [(f'{sdir}/{n}' if sdir else n, k, a) for n, k, a in existing(src, 'src')]
    if dst != 'absent':
        s += [(f'{ddir}/{n}' if ddir else n, k, a) for n, k, a in existing(dst, 'dst')]
    return s


for src in SRC_KINDS:
    for dst in DST_KINDS:
        for placement, sdir, ddir in (('same', 'd1', 'd1'), ('across', 'd1', 'd2')):
            setup = rename_setup(src, dst, sdir, ddir)
            watch = sorted(set(['d1', 'd2', f'{sdir}/src', f'{ddir}/dst', f'{ddir}/dst/inner', f'{sdir}/src/inner'] + names_of(setup)))
            case(
                f'rename/{src}-onto-{dst}/{placement}',
                lambda s=f'{sdir}/src', d=f'{ddir}/dst': os.rename(s, d),
                setup=setup,
                watch=watch,
            )
case('rename/dir-into-itself', lambda: os.rename('d', 'd/e/f'), setup=[entry('d', 'dir'), entry('d/e', 'dir')], watch=['d', 'd/e'])
case('rename/dir-onto-its-parent', lambda: os.rename('d/e', 'd'), setup=[entry('d', 'dir'), entry('d/e', 'dir')], watch=['d', 'd/e'])
case('rename/dir-onto-its-child', lambda: os.rename('d', 'd/e'), setup=[entry('d', 'dir'), entry('d/e', 'dir')], watch=['d', 'd/e'])
case('rename/same-name', lambda: os.rename('f', 'f'), setup=[entry('f', 'reg')], watch=['f', '.'])
case('rename/missing', lambda: os.rename('nope', 'x'), watch=['x'])
case('rename/dot', lambda: os.rename('d/.', 'x'), setup=[entry('d', 'dir')], watch=['d', 'x'])
case('rename/into-missing-dir', lambda: os.rename('f', 'no/f'), setup=[entry('f', 'reg')], watch=['f'])
case('rename/into-file', lambda: os.rename('f', 'g/f'), setup=[entry('f', 'reg'), entry('g', 'reg')], watch=['f', 'g'])
case('rename/name-255', lambda: os.rename('f', LONG), setup=[entry('f', 'reg')], watch=['f', LONG])
case('rename/name-256', lambda: os.rename('f', TOO_LONG), setup=[entry('f', 'reg')], watch=['f'])
case('rename/hardlinks-of-one-file', lambda: os.rename('a', 'b'), setup=[entry('a', 'reg'), entry('b', 'hardlink', of='a')], watch=['a', 'b', '.'])
case(
    'rename/one-link-away',
    lambda: os.rename('a', 'd/c'),
    setup=[entry('d', 'dir'), entry('a', 'reg'), entry('b', 'hardlink', of='a')],
    watch=['a', 'b', 'd/c', 'd', '.'],
)
case(
    'rename/over-a-linked-file',
    lambda: os.rename('x', 'a'),
    setup=[entry('x', 'reg', content=b'new'), entry('a', 'reg'), entry('b', 'hardlink', of='a')],
    watch=['a', 'b', 'x'],
)
case('rename/dir-with-subdirs-across', lambda: os.rename('d1/s', 'd2/s'), setup=[entry('d1', 'dir'), entry('d2', 'dir'), entry('d1/s', 'dir'), entry('d1/s/t', 'dir')], watch=['d1', 'd2', 'd2/s', 'd2/s/t'])
# Another user: sticky folders, folders she may not write, moving her own and others' entries.
for where in ('own', 'sticky', 'shared', 'closed'):
    for user in (ROOT, ALICE, BOB, CAROL):
        for owner in (ALICE, BOB):
            case(
                f'rename/{where}/{owner}s-file/by-{user}',
                lambda: os.rename('t', 'u'),
                user=user,
                top=TOPS[where],
                setup=[entry('t', 'reg', owner=owner)],
                watch=['t', 'u', '.'],
            )
            case(
                f'rename/{where}/onto-{owner}s-file/by-{user}',
                lambda: os.rename('mine', 't'),
                user=user,
                top=TOPS[where],
                setup=[entry('mine', 'reg', owner=user, mode=0o666), entry('t', 'reg', owner=owner)],
                watch=['mine', 't', '.'],
            )
# renameat2's flags (mv -n, atomic swaps).
RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2


def renameat2(src, dst, flags):
    if libc.renameat2(AT_FDCWD, src.encode(), AT_FDCWD, dst.encode(), flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), src)
    return 0


for name, flags in (('noreplace', RENAME_NOREPLACE), ('exchange', RENAME_EXCHANGE)):
    for dst in ('absent', 'reg'):
        case(
            f'renameat2/{name}/onto-{dst}',
            lambda flags=flags: renameat2('a', 'b', flags),
            setup=[entry('a', 'reg', content=b'a')] + ([entry('b', 'reg', content=b'b')] if dst == 'reg' else []),
            watch=['a', 'b'],
            # The kernel itself refuses NOREPLACE onto an existing name and EXCHANGE with a missing one.
            known='rename-flags' if (name, dst) in (('noreplace', 'absent'), ('exchange', 'reg')) else None,
        )
# Between two sticky folders (issue 14): another user moves an entry from one to the other.
for user in (ALICE, BOB, CAROL):
    for k in ('reg', 'fifo', 'dir', 'symlink'):
        for owner in (ALICE, BOB):
            case(
                f'rename/sticky-to-sticky/{k}-of-{owner}/by-{user}',
                lambda: os.rename('s1/t', 's2/t'),
                user=user,
                top=(0o755, ROOT, None),
                setup=[entry('s1', 'dir', owner=ROOT, mode=0o1777), entry('s2', 'dir', owner=ROOT, mode=0o1777)]
                + [(f's1/{n}', kk, dict(a, owner=owner)) for n, kk, a in existing(k)],
                watch=['s1', 's2', 's1/t', 's2/t'],
            )

# --- symlink ----------------------------------------------------------------------

for target in ('reg', '/abs/olute', 'dir/sub/../x', 'x' * 255, 'y' * 1000, 'nowhere', '.', '..', 'ü-ñ', 'z' * 4095):
    label = target if len(target) < 20 else f'{target[0]}x{len(target)}'
    case(f'symlink/target-{label}', lambda target=target: os.symlink(target, 'l'), setup=[entry('reg', 'reg')], watch=['l', '.'])
case('symlink/target-empty', lambda: os.symlink('', 'l'), watch=['l'])
case('symlink/target-4096', lambda: os.symlink('z' * 4096, 'l'), watch=['l'])
for k in KINDS:
    case(f'symlink/over-{k}', lambda: os.symlink('reg', 't'), setup=existing(k), watch=['t'])
for where in TOPS:
    for user in (ROOT, ALICE, BOB, CAROL):
        case(f'symlink/{where}/{user}', lambda: os.symlink('target', 'l'), user=user, top=TOPS[where], watch=['l', '.'])
case('symlink/name-255', lambda: os.symlink('x', LONG), watch=[LONG])
case('symlink/name-256', lambda: os.symlink('x', TOO_LONG))
case('symlink/parent-missing', lambda: os.symlink('x', 'no/l'))

# --- link -------------------------------------------------------------------------

LINK_KINDS = ['reg', 'empty', 'dir', 'symlink', 'dangling', 'fifo', 'sock', 'chr', 'blk']
for k in LINK_KINDS:
    for user in (ROOT, ALICE):
        case(
            f'link/{k}/{user}',
            lambda: os.link('t', 'u', follow_symlinks=False),
            user=user,
            setup=existing(k),
            watch=['t', 'u', '.'] + (['reg'] if k == 'symlink' else []),
        )
    case(f'link/{k}/across', lambda: os.link('t', 'd/u', follow_symlinks=False), setup=existing(k) + [entry('d', 'dir')], watch=['t', 'd/u', 'd', '.'])
for k in KINDS:
    case(f'link/onto-{k}', lambda: os.link('src', 't'), setup=[entry('src', 'reg')] + existing(k), watch=['src', 't'])
case('link/missing', lambda: os.link('nope', 'u'), watch=['u'])
case('link/name-256', lambda: os.link('f', TOO_LONG), setup=[entry('f', 'reg')], watch=['f'])
case('link/three-names', lambda: (os.link('a', 'b'), os.link('b', 'c')), setup=[entry('a', 'reg')], watch=['a', 'b', 'c'])
case('link/then-write-through-other-name', lambda: (os.link('a', 'b'), append('b', b'more')), setup=[entry('a', 'reg')], watch=['a', 'b'])
case('link/then-chmod-other-name', lambda: (os.link('a', 'b'), os.chmod('b', 0o600)), setup=[entry('a', 'reg')], watch=['a', 'b'])
# protected_hardlinks: someone else's file only if she may read and write it.
for mode in (0o644, 0o666, 0o4755, 0o600):
    for user in (BOB, CAROL):
        case(
            f'link/alices-{mode:o}-file/by-{user}',
            lambda: os.link('t', 'u'),
            user=user,
            top=(0o1777, ROOT, None),
            setup=[entry('t', 'reg', mode=mode)],
            watch=['t', 'u'],
        )
for where in ('closed', 'sticky', 'own', 'shared'):
    mode, owner, _ = TOPS[where]
    for user in (ALICE, CAROL):
        case(
            f'link/into-{where}/by-{user}',
            lambda: os.link('src', 'd/u'),
            user=user,
            setup=[entry('src', 'reg', mode=0o666), entry('d', 'dir', mode=mode, owner=owner)],
            watch=['src', 'd/u', 'd'],
        )

# --- chmod ------------------------------------------------------------------------

CHMOD_KINDS = ['reg', 'dir', 'fifo', 'sock', 'chr', 'blk', 'symlink']
for k in CHMOD_KINDS:
    for user in (ROOT, ALICE, BOB, CAROL):
        for mode in (0o600, 0o755, 0o4755, 0o2755, 0o1777, 0o7777, 0):
            case(
                f'chmod/{k}/{mode:o}/by-{user}',
                lambda mode=mode: os.chmod('t', mode),
                user=user,
                setup=existing(k),
                watch=['t'] + (['reg'] if k == 'symlink' else []),
            )
# A group the owner is not in: setgid is dropped by a chmod of hers, kept by root's.
for k in ('reg', 'dir'):
    for user in (ALICE, ROOT):
        case(f'chmod/{k}/setgid-foreign-group/by-{user}', lambda: os.chmod('t', 0o2775), user=user, setup=[entry('t', k, group=BOB)], watch=['t'])
        case(f'chmod/{k}/setgid-own-group/by-{user}', lambda: os.chmod('t', 0o2775), user=user, setup=[entry('t', k, group='alice')], watch=['t'])
case('chmod/missing', lambda: os.chmod('nope', 0o600))
case('chmod/dangling-symlink', lambda: os.chmod('t', 0o600), setup=existing('dangling'), watch=['t'])

# --- chown ------------------------------------------------------------------------

CHOWN_KINDS = ['reg', 'dir', 'fifo', 'sock', 'chr', 'symlink']
CHOWN_TO = {
    'bob': (40002, -1),
    'bob-bob': (40002, 40002),
    'g-bob': (-1, 40002),
    'g-alice': (-1, 40001),
    'g-carol': (-1, 40003),
    'same': (40001, 40001),
    'none': (-1, -1),
    'root': (0, 0),
}
for k in CHOWN_KINDS:
    for user in (ROOT, ALICE, BOB, CAROL):
        for to, (uid, gid) in CHOWN_TO.items():
            case(
                f'chown/{k}/to-{to}/by-{user}',
                lambda uid=uid, gid=gid: os.chown('t', uid, gid),
                user=user,
                setup=existing(k),
                watch=['t'] + (['reg'] if k == 'symlink' else []),
                known='ctime-only' if to == 'none' else None,
            )
    for user in (ROOT, ALICE):
        case(f'lchown/{k}/to-g-alice/by-{user}', lambda: os.lchown('t', -1, 40001), user=user, setup=existing(k), watch=['t'] + (['reg'] if k == 'symlink' else []))
        case(f'lchown/{k}/to-bob/by-{user}', lambda: os.lchown('t', 40002, -1), user=user, setup=existing(k), watch=['t'])
# Who loses setuid and setgid on a chown (the kernel clears them on files, keeps them on folders).
for k in ('reg', 'dir'):
    for mode in (0o4755, 0o2755, 0o6755, 0o2745, 0o6777):
        for user, (uid, gid) in ((ROOT, (40002, -1)), (ROOT, (-1, -1)), (ROOT, (40001, 40001)), (ALICE, (-1, 40001)), (ALICE, (40001, -1))):
            kills = k == 'reg' and (mode & 0o4000 or mode & 0o2010 == 0o2010)
            case(
                f'chown/{k}/{mode:o}/to-{uid}-{gid}/by-{user}',
                lambda uid=uid, gid=gid: os.chown('t', uid, gid),
                user=user,
                setup=[entry('t', k, mode=mode)],
                watch=['t'],
                known='ctime-only' if (uid, gid) == (-1, -1) and not kills else None,
            )

# --- utimensat --------------------------------------------------------------------

TIMES = {
    'T1-T2': (T1, T2),
    'null': (None, None),
    'now-now': ('now', 'now'),
    'omit-T2': ('omit', T2),
    'T1-omit': (T1, 'omit'),
    'now-omit': ('now', 'omit'),
    'omit-now': ('omit', 'now'),
    'omit-omit': ('omit', 'omit'),
}
UTIME_KINDS = ['reg', 'dir', 'fifo', 'sock', 'chr', 'symlink']


for k in UTIME_KINDS:
    for spec, (a, m) in TIMES.items():
        for user in (ROOT, ALICE, BOB):
            case(
                f'utimensat/{k}/{spec}/by-{user}',
                lambda a=a, m=m: utimensat('t', a, m),
                user=user,
                setup=existing(k),
                watch=['t'] + (['reg'] if k == 'symlink' else []),
                # Not the atime of a symlink followed (ext4 updates it on the lookup; the mount keeps no access times).
                atimes=['reg'] if k == 'symlink' else True,
            )
    # Someone who may write but does not own: only "now" (or omit) is allowed.
    for spec in ('T1-T2', 'null', 'now-now', 'omit-omit', 'now-omit'):
        a, m = TIMES[spec]
        case(
            f'utimensat/{k}/{spec}/writable-by-bob',
            lambda a=a, m=m: utimensat('t', a, m),
            user=BOB,
            setup=existing(k, mode=0o666) if k != 'symlink' else [entry('reg', 'reg', mode=0o666), entry('t', 'symlink', target='reg')],
            watch=['t'],
            atimes=['reg'] if k == 'symlink' else True,
        )
for spec in ('T1-T2', 'now-now', 'omit-T2', 'T1-omit'):
    a, m = TIMES[spec]
    for k in ('symlink', 'dangling'):
        case(
            f'utimensat/nofollow-{k}/{spec}',
            lambda a=a, m=m: utimensat('t', a, m, nofollow=True),
            setup=existing(k),
            watch=['t'] + (['reg'] if k == 'symlink' else []),
            atimes=True,
        )
case('utimensat/missing', lambda: utimensat('nope', T1, T2))
case('utimes/T3', lambda: os.utime('t', (T3, T3)), setup=[entry('t', 'reg')], watch=['t'], atimes=True)

# --- open -------------------------------------------------------------------------

O = os
OPEN_FLAGS = {
    'rdonly': O.O_RDONLY,
    'wronly': O.O_WRONLY,
    'rdwr': O.O_RDWR,
    'creat': O.O_CREAT | O.O_WRONLY,
    'creat-excl': O.O_CREAT | O.O_EXCL | O.O_WRONLY,
    'trunc': O.O_TRUNC | O.O_WRONLY,
    'creat-trunc': O.O_CREAT | O.O_TRUNC | O.O_RDWR,
    'append': O.O_APPEND | O.O_WRONLY,
    'directory': O.O_DIRECTORY | O.O_RDONLY,
    'nofollow': O.O_NOFOLLOW | O.O_RDONLY,
    'creat-excl-nofollow': O.O_CREAT | O.O_EXCL | O.O_NOFOLLOW | O.O_WRONLY,
    'rdonly-trunc': O.O_RDONLY | O.O_TRUNC,
}
OPEN_KINDS = ['absent', 'reg', 'empty', 'dir', 'symlink', 'dangling', 'dirlink', 'fifo', 'sock']


def open_and_use(path, flags, write=b'+w'):
    """open(2); a writable descriptor writes a few bytes at its offset; closed before returning."""
    fd = os.open(path, flags | (os.O_NONBLOCK if os.path.exists(path) and stat.S_ISFIFO(os.stat(path).st_mode) else 0), 0o640)
    try:
        acc = flags & os.O_ACCMODE
        if acc in (os.O_WRONLY, os.O_RDWR) and not stat.S_ISFIFO(os.fstat(fd).st_mode):
            os.write(fd, write)
        return 'fd'
    finally:
        os.close(fd)


for k in OPEN_KINDS:
    for fname, flags in OPEN_FLAGS.items():
        for user in (ALICE, BOB):
            setup = [] if k == 'absent' else existing(k)
            case(
                f'open/{k}/{fname}/by-{user}',
                lambda flags=flags: open_and_use('t', flags),
                user=user,
                setup=setup,
                watch=sorted(set(['t', '.', 'nowhere'] + names_of(setup))),
            )
case('open/name-255', lambda: open_and_use(LONG, O.O_CREAT | O.O_WRONLY), watch=[LONG, '.'])
case('open/name-256', lambda: open_and_use(TOO_LONG, O.O_CREAT | O.O_WRONLY))
case('open/path-4096', lambda: open_and_use('a/' * 2047 + 'bb', O.O_RDONLY))
case('open/creat-in-missing-dir', lambda: open_and_use('no/f', O.O_CREAT | O.O_WRONLY))
case('open/trailing-slash-on-file', lambda: open_and_use('f/', O.O_RDONLY), setup=[entry('f', 'reg')], watch=['f'])
for mode in (0, 0o4755, 0o2755, 0o1777, 0o777):
    case(f'open/creat-mode-{mode:o}', lambda mode=mode: os.close(os.open('x', O.O_CREAT | O.O_WRONLY, mode)), watch=['x'])
    case(f'open/creat-mode-{mode:o}/setgid-parent', lambda mode=mode: os.close(os.open('x', O.O_CREAT | O.O_WRONLY, mode)), user=CAROL, top=TOPS['setgid'], watch=['x'])


def same_inode_after_close(path, rename_to=None):
    """tar's check on a placeholder: the file keeps its inode number across its first close (and a rename)."""
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    before = os.fstat(fd).st_ino
    os.write(fd, b'data')
    os.close(fd)
    if rename_to:
        os.rename(path, rename_to)
        path = rename_to
    return [os.lstat(path).st_ino == before, os.stat('.').st_ino != before]


case('open/creat-inode-kept-across-close', lambda: same_inode_after_close('x'), watch=['x'])
case('open/creat-inode-kept-across-rename', lambda: same_inode_after_close('x', 'y'), watch=['x', 'y'])
case('open/creat-inode-kept-by-user', lambda: same_inode_after_close('x'), user=CAROL, top=TOPS['shared'], watch=['x'])
for umask in (0, 0o077, 0o027):
    case(f'open/creat-umask-{umask:o}', lambda: os.close(os.open('x', O.O_CREAT | O.O_WRONLY, 0o666)), watch=['x'], umask=umask)
for where in TOPS:
    for user in (ROOT, BOB, CAROL):
        case(f'open/creat/{where}/{user}', lambda: open_and_use('x', O.O_CREAT | O.O_WRONLY), user=user, top=TOPS[where], watch=['x', '.'])
# Modes of an existing file against each user's access.
for mode in (0o600, 0o640, 0o604, 0o660, 0o000, 0o222):
    for user in (ALICE, BOB, CAROL, ROOT):
        for fname in ('rdonly', 'wronly', 'rdwr'):
            case(f'open/mode-{mode:o}/{fname}/by-{user}', lambda flags=OPEN_FLAGS[fname]: open_and_use('t', flags), user=user, setup=[entry('t', 'reg', mode=mode)], watch=['t'])
# Writes by a user who is not root clear setuid and setgid (when group-executable), as the kernel does.
for mode in (0o6777, 0o4777, 0o2777, 0o2767, 0o6755):
    for user in (ROOT, ALICE, BOB):
        sgid_no_exec = 'sgid-no-exec' if mode & 0o2010 == 0o2000 and user == BOB else None
        case(f'write/setid-{mode:o}/by-{user}', lambda: open_and_use('t', O.O_WRONLY | O.O_APPEND), user=user, setup=[entry('t', 'reg', mode=mode)], watch=['t'], known=sgid_no_exec)

# --- truncate and ftruncate -------------------------------------------------------


def ftruncate(path, size):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, size)
    finally:
        os.close(fd)


TRUNC_KINDS = ['reg', 'empty', 'dir', 'fifo', 'symlink', 'sock']
for k in TRUNC_KINDS:
    for size in (0, 5, 13, 100):
        for user in (ALICE, BOB, CAROL):
            attrs = {'mode': 0o664} if k != 'symlink' else {}
            setup = existing(k, **attrs)
            case(f'truncate/{k}/{size}/by-{user}', lambda size=size: os.truncate('t', size), user=user, setup=setup, watch=['t'] + names_of(setup))
            if k in ('reg', 'empty', 'symlink'):
                case(f'ftruncate/{k}/{size}/by-{user}', lambda size=size: ftruncate('t', size), user=user, setup=setup, watch=['t'] + names_of(setup))
for mode in (0o6777, 0o4777, 0o2777, 0o2767):
    for user in (ROOT, ALICE, BOB):
        sgid_no_exec = 'sgid-no-exec' if mode & 0o2010 == 0o2000 and user == BOB else None
        case(f'truncate/setid-{mode:o}/by-{user}', lambda: os.truncate('t', 3), user=user, setup=[entry('t', 'reg', mode=mode)], watch=['t'], known=sgid_no_exec)
        case(f'ftruncate/setid-{mode:o}/by-{user}', lambda: ftruncate('t', 3), user=user, setup=[entry('t', 'reg', mode=mode)], watch=['t'], known=sgid_no_exec)
case('truncate/negative', lambda: os.truncate('t', -1), setup=[entry('t', 'reg')], watch=['t'])
case('truncate/missing', lambda: os.truncate('nope', 0))

# --- readdir, stat, access, readlink ----------------------------------------------

ALL = [entry('d', 'dir'), entry('f', 'reg'), entry('e', 'empty'), entry('l', 'symlink', target='f'), entry('p', 'fifo'), entry('s', 'sock'), entry('c', 'chr'), entry('b', 'blk', rdev=(8, 2))]
case('readdir/every-kind', lambda: readdir_types('.'), setup=ALL, watch=names_of(ALL) + ['.'])
case('readdir/empty', lambda: readdir_types('d'), setup=[entry('d', 'dir')], watch=['d'])
case('readdir/hardlinks', lambda: readdir_types('.'), setup=[entry('a', 'reg'), entry('b', 'hardlink', of='a'), entry('c', 'fifo'), entry('c2', 'hardlink', of='c')], watch=['a', 'b', 'c', 'c2'])
case('readdir/of-a-file', lambda: readdir_types('f'), setup=[entry('f', 'reg')])
case('readdir/not-allowed', lambda: readdir_types('d'), user=BOB, setup=[entry('d', 'dir', mode=0o700)])
case('readdir/after-changes', lambda: (os.rename('f', 'g'), os.unlink('e'), os.mkfifo('q'), readdir_types('.'))[-1], setup=ALL)
for k in KINDS + ['dirlink']:
    case(f'stat/{k}', lambda: 0, setup=existing(k), watch=names_of(existing(k)))
    case(f'stat/follow-{k}', lambda: kind_of(os.stat('t')), setup=existing(k))
    case(f'readlink/{k}', lambda: os.readlink('t'), setup=existing(k))
for k in ('reg', 'dir', 'fifo', 'chr'):
    for mode in (0o700, 0o750, 0o705, 0o000):
        for user in (ALICE, BOB, CAROL):
            case(
                f'access/{k}/{mode:o}/by-{user}',
                lambda: ''.join(c for c, m in (('r', os.R_OK), ('w', os.W_OK), ('x', os.X_OK)) if os.access('t', m, effective_ids=True)),
                user=user,
                setup=[entry('t', k, mode=mode)],
            )
case('stat/name-256', lambda: os.lstat(TOO_LONG))
case('stat/in-closed-folder', lambda: kind_of(os.lstat('d/f')), user=BOB, setup=[entry('d', 'dir', mode=0o700), entry('d/f', 'reg')])


# ---------------------------------------------------------------- running


def outcome(fn):
    try:
        value = fn()
    except OSError as e:
        return {'errno': errno.errorcode.get(e.errno, str(e.errno))}
    except ValueError as e:  # e.g. embedded NUL, negative size
        return {'error': type(e).__name__}
    if isinstance(value, (list, tuple)):
        value = [v if isinstance(v, (str, int, float, list)) or v is None else str(v) for v in value]
    elif not isinstance(value, (str, int, float)) and value is not None:
        value = str(value)
    return {'value': value}


class Timeout(Exception):
    pass


def on_alarm(_sig, _frame):
    raise Timeout()


def run_calls(cases, dirs, clock):
    """Phase 2 for some of the cases: each call as its user, then what root observes."""
    results = {}
    for c in cases:
        os.chdir(dirs[c.id])
        old = os.umask(c.umask)
        signal.alarm(20)
        try:
            become(c.user)
            try:
                res = outcome(c.call)
            finally:
                back_to_root()
        except Timeout:
            res = {'errno': 'TIMEOUT'}
        finally:
            signal.alarm(0)
            os.umask(old)
        res['entries'] = observe(c.watch, clock, c.atimes, {})
        results[c.id] = res
    return results


def setup_case(root, i, c):
    d = os.path.join(root, f'c{i:05d}')
    os.mkdir(d)
    try:
        for name, kind, attrs in c.setup:
            make(d, name, kind, **attrs)
        failed = None
    except OSError as e:
        failed = f'{e.strerror}: {e.filename}'
    mode, owner, group = c.top
    os.chown(d, USERS[owner][0], GID[group] if group else USERS[owner][1])
    os.chmod(d, mode)
    return d, failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--root', required=True)
    ap.add_argument('--list', action='store_true', help='print the case ids and exit')
    ap.add_argument('--only', default='', help='run the cases whose id contains this')
    ap.add_argument('--known', action='store_true', help='also run the cases that differ by design')
    ap.add_argument('--jobs', type=int, default=4, help='processes making the calls (default 4)')
    args = ap.parse_args()
    cases = [c for c in CASES if args.only in c.id and (args.known or c.known is None)]
    if args.list:
        for c in cases:
            print(c.id + (f'  [differs by design: {c.known}]' if c.known else ''))
        return
    if os.geteuid() != 0:
        sys.exit('posix.py: run as root (cases switch to other users with seteuid)')
    signal.signal(signal.SIGALRM, on_alarm)
    root = os.path.abspath(args.root)
    os.makedirs(root, exist_ok=True)
    os.chmod(root, 0o755)
    clock = Clock()
    results = {}
    started = time.monotonic()

    # 1. Every setup, as root (several at once: each is a few round trips in a mount).
    dirs = {}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(setup_case, root, i, c) for i, c in enumerate(cases)]
        for c, f in zip(cases, futures):
            d, failed = f.result()
            dirs[c.id] = d
            if failed:
                results[c.id] = {'setup': failed}
    setup_s = time.monotonic() - started

    # 2. Every call, at least 50 ms after the last setup, by `jobs` processes (a call switches the
    #    process's euid and umask, so one call at a time per process).
    time.sleep(0.05)
    clock.boundary = time.time() - 0.025
    todo = [c for c in cases if c.id not in results]
    children = []
    for j in range(max(1, args.jobs)):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                out = json.dumps(run_calls(todo[j :: args.jobs], dirs, clock)).encode()
                with os.fdopen(w, 'wb') as f:
                    f.write(out)
                os._exit(0)
            except BaseException as e:  # noqa: BLE001 - the parent reports it
                sys.stderr.write(f'posix.py: worker {j} failed: {e!r}\n')
                os._exit(1)
        os.close(w)
        children.append((pid, r))
    for pid, r in children:
        with os.fdopen(r, 'rb') as f:
            data = f.read()
        _, status = os.waitpid(pid, 0)
        if status != 0:
            sys.exit('posix.py: a worker failed')
        results.update(json.loads(data))
    os.chdir(root)
    json.dump(
        {
            'cases': results,
            'setupSeconds': round(setup_s, 2),
            'seconds': round(time.monotonic() - started, 2),
        },
        sys.stdout,
        indent=None,
        sort_keys=True,
    )
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
