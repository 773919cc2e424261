#!/usr/bin/env python3
"""Writes conformance/vectors/aci/*.json from the reference's converted tables
(../shared/vectors/appc-spec/aci-file.json, renderer.json) plus our own cases.

Verdicts and codes are written here by hand, never computed by our implementation.
Run from the repository root: python3 packages/aci/scripts/convert-vectors.py /work/shared/vectors/appc-spec
"""
import json
import os
import sys

src = sys.argv[1] if len(sys.argv) > 1 else '/work/shared/vectors/appc-spec'
out = 'conformance/vectors/aci'
os.makedirs(out, exist_ok=True)

M = json.dumps({"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "example.com/app"})
MANIFEST = {"name": "manifest", "contents": M}
ROOTFS = {"name": "rootfs", "type": "dir"}


def v(id, req, title, input, valid, code=None, source='ours', **extra):
    e = {"valid": valid}
    if code:
        e["code"] = code
    e.update(extra.pop('expect_extra', {}))
    d = {"id": f"aci/{id}", "requirement": req, "title": title, "input": input, "expect": e, "source": source}
    d.update(extra)
    return d


def write(name, vectors):
    with open(os.path.join(out, name), 'w') as f:
        json.dump(vectors, f, indent=2, ensure_ascii=False)
        f.write('\n')


# ---------------------------------------------------------------- reference: aci/file_test.go, layout_test.go
ref = json.load(open(os.path.join(src, 'aci-file.json')))
reference = []
for i, c in enumerate(ref['manifestFromImage']):
    inp = {"readManifest": {"entries": c['entries'], "compression": "gzip" if c.get('gzip') else "none"}}
    if 'error' in c:
        reference.append(v(f"ref-manifest-from-image-{i}", 'ACI-013', f"readManifest: {c['error']} (archive without entries)",
                           inp, False, 'ERR_ACI_MISSING_MANIFEST', source='appc/spec aci/file_test.go'))
    else:
        reference.append(v(f"ref-manifest-from-image-{i}", 'ACI-013', f"readManifest: {c['why']}", inp, True,
                           source='appc/spec aci/file_test.go', expect_extra={"name": c['name']}))
for i, c in enumerate(ref['detectType']):
    inp = {"sniff": {"entries": c['entries'], "compression": "gzip" if c.get('gzip') else "none",
                     "decompressOnly": bool(c.get('decompressOnly')), "firstEntryOnly": bool(c.get('firstEntryOnly'))}}
    reference.append(v(f"ref-detect-type-{i}", 'ACI-006', f"sniff: {c['why']}", inp, True,
                       source='appc/spec aci/file_test.go', expect_extra={"kind": c['type']}))
for i, c in enumerate(ref['layout']):
    files = []
    for f in c['files']:
        f = dict(f)
        if 'contents' in f:
            f['contents'] = f['contents'].replace('<current spec version>', '0.8.11')
        files.append(f)
    reference.append(v(f"ref-layout-{i}", 'ACI-009', f"layout: {c['why']}", {"layout": {"files": files}}, c['valid'],
                       source='appc/spec aci/layout_test.go'))
write('reference.json', reference)

# ---------------------------------------------------------------- reference: pkg/acirenderer
rr = json.load(open(os.path.join(src, 'renderer.json')))
renderer = []
seen = {}
for c in rr['cases']:
    n = seen.get(c['test'], 0)
    seen[c['test']] = n + 1
    slug = c['test'][4:].lower() + (f"-{n + 1}" if n else '')
    images = []
    for im in c['images']:
        entries = list(im['entries'])
        # the Go test archives have no explicit rootfs entry; ours requires one (ACI-002), so it is added
        if not any(e['name'] == 'rootfs' for e in entries):
            entries.insert(0, {"name": "rootfs", "type": "dir", "mode": "0755"})
        images.append({"manifest": im['manifest'], "entries": entries})
    expected = list(c['expected'])
    if not any(e['path'] == 'rootfs' for e in expected):
        expected.append({"path": "rootfs", "type": "dir", "mode": "0755"})
    relative = any(p for im in c['images'] for p in (im['manifest'].get('pathWhitelist') or []) if not p.startswith('/'))
    inp = {"images": images, "render": c['render'], "expected": expected}
    req = 'ACI-022' if any(im['manifest'].get('pathWhitelist') for im in c['images']) else (
        'ACI-021' if 'override' in c['test'].lower() or 'Ovverride' in c['test'] else 'ACI-020')
    if relative:
        renderer.append(v(f"render-{slug}", 'IMG-016', f"{c['desc']} (ours: a relative pathWhitelist entry makes the manifest invalid; the reference renders it)",
                          inp, False, 'ERR_SCHEMA_PATH_NOT_ABSOLUTE', source='appc/spec pkg/acirenderer/acirenderer_test.go',
                          reference={"valid": True}))
    else:
        renderer.append(v(f"render-{slug}", req, c['desc'], inp, True, source='appc/spec pkg/acirenderer/acirenderer_test.go'))


def img(name, entries=(), deps=None, pwl=None):
    m = {"acKind": "ImageManifest", "acVersion": "0.8.11", "name": name}
    if deps is not None:
        m['dependencies'] = deps
    if pwl is not None:
        m['pathWhitelist'] = pwl
    return {"manifest": m, "entries": [{"name": "rootfs", "type": "dir", "mode": "0755"}, *entries]}


renderer += [
    v('render-order-tree', 'ACI-020', 'A -> [B, C], C -> [D]: layers applied B, D, C, A (the last writer of /f wins)',
      {"images": [img('example.com/a', [{"name": "rootfs/a", "contents": "A"}], [{"imageName": "example.com/b"}, {"imageName": "example.com/c"}]),
                  img('example.com/b', [{"name": "rootfs/f", "contents": "B"}, {"name": "rootfs/b", "contents": "B"}]),
                  img('example.com/c', [{"name": "rootfs/f", "contents": "CC"}], [{"imageName": "example.com/d"}]),
                  img('example.com/d', [{"name": "rootfs/f", "contents": "DDD"}, {"name": "rootfs/d", "contents": "D"}])],
       "render": "example.com/a", "layerOrder": ["example.com/b", "example.com/d", "example.com/c", "example.com/a"],
       "expected": [{"path": "manifest", "type": "file", "mode": "0644"}, {"path": "rootfs", "type": "dir", "mode": "0755"},
                    {"path": "rootfs/a", "type": "file", "mode": "0644", "size": 1}, {"path": "rootfs/b", "type": "file", "mode": "0644", "size": 1},
                    {"path": "rootfs/d", "type": "file", "mode": "0644", "size": 1}, {"path": "rootfs/f", "type": "file", "mode": "0644", "size": 2}]},
      True),
    v('render-order-dag', 'ACI-020', 'A -> [B, C], B -> [D], C -> [D]: D is applied once per path (D, B, D, C, A)',
      {"images": [img('example.com/a', [], [{"imageName": "example.com/b"}, {"imageName": "example.com/c"}]),
                  img('example.com/b', [{"name": "rootfs/f", "contents": "B"}], [{"imageName": "example.com/d"}]),
                  img('example.com/c', [], [{"imageName": "example.com/d"}]),
                  img('example.com/d', [{"name": "rootfs/f", "contents": "DDD"}])],
       "render": "example.com/a", "layerOrder": ["example.com/d", "example.com/b", "example.com/d", "example.com/c", "example.com/a"],
       "expected": [{"path": "manifest", "type": "file", "mode": "0644"}, {"path": "rootfs", "type": "dir", "mode": "0755"},
                    {"path": "rootfs/f", "type": "file", "mode": "0644", "size": 3}]},
      True),
    v('render-symlink-replaced', 'ACI-021', 'a dependency symlink rootfs/etc -> /etc is replaced by the image directory, never followed',
      {"images": [img('example.com/a', [{"name": "rootfs/etc", "type": "dir"}, {"name": "rootfs/etc/passwd", "contents": "x"}], [{"imageName": "example.com/b"}]),
                  img('example.com/b', [{"name": "rootfs/etc", "type": "symlink", "linkname": "/etc"}])],
       "render": "example.com/a",
       "expected": [{"path": "manifest", "type": "file", "mode": "0644"}, {"path": "rootfs", "type": "dir", "mode": "0755"},
                    {"path": "rootfs/etc", "type": "dir", "mode": "0755"}, {"path": "rootfs/etc/passwd", "type": "file", "mode": "0644", "size": 1}]},
      True),
    v('render-symlink-parent-replaced', 'ACI-021', 'a dependency symlink used as a parent by an upper image without its own directory entry is replaced by a directory',
      {"images": [img('example.com/a', [{"name": "rootfs/lib/x", "contents": "x"}], [{"imageName": "example.com/b"}]),
                  img('example.com/b', [{"name": "rootfs/lib", "type": "symlink", "linkname": "../../../../tmp"}])],
       "render": "example.com/a",
       "expected": [{"path": "manifest", "type": "file", "mode": "0644"}, {"path": "rootfs", "type": "dir", "mode": "0755"},
                    {"path": "rootfs/lib/x", "type": "file", "mode": "0644", "size": 1}]},
      True),
    v('render-cycle', 'ACI-023', 'A -> B -> A is a dependency cycle',
      {"images": [img('example.com/a', [], [{"imageName": "example.com/b"}]), img('example.com/b', [], [{"imageName": "example.com/a"}])],
       "render": "example.com/a"}, False, 'ERR_ACI_DEPENDENCY_CYCLE'),
    v('render-missing-dependency', 'ACI-023', 'a dependency that no provider has',
      {"images": [img('example.com/a', [], [{"imageName": "example.com/nowhere"}])], "render": "example.com/a"},
      False, 'ERR_ACI_DEPENDENCY_NOT_FOUND'),
    v('render-image-id-mismatch', 'ACI-011', 'a dependency imageID that matches no image is not resolved to another image of that name',
      {"images": [img('example.com/a', [], [{"imageName": "example.com/b", "imageID": "sha512-" + "0" * 128}]), img('example.com/b')],
       "render": "example.com/a"}, False, 'ERR_ACI_DEPENDENCY_NOT_FOUND'),
    v('render-size-mismatch', 'ACI-023', 'a dependency whose declared size differs from the archive found',
      {"images": [img('example.com/a', [], [{"imageName": "example.com/b", "size": 1}]), img('example.com/b')],
       "render": "example.com/a"}, False, 'ERR_ACI_SIZE_MISMATCH'),
    v('render-labels', 'ACI-023', 'dependencies are matched by name and labels: the image with version 2 is used',
      {"images": [img('example.com/a', [], [{"imageName": "example.com/b", "labels": [{"name": "version", "value": "2"}]}]),
                  {**img('example.com/b', [{"name": "rootfs/v2", "contents": "2"}]), "manifest": {"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "example.com/b", "labels": [{"name": "version", "value": "2"}]}},
                  {**img('example.com/b', [{"name": "rootfs/v1", "contents": "1"}]), "manifest": {"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "example.com/b", "labels": [{"name": "version", "value": "1"}]}}],
       "render": "example.com/a",
       "expected": [{"path": "manifest", "type": "file", "mode": "0644"}, {"path": "rootfs", "type": "dir", "mode": "0755"},
                    {"path": "rootfs/v2", "type": "file", "mode": "0644", "size": 1}]},
      True),
]
write('renderer.json', renderer)

# ---------------------------------------------------------------- ours: archives (validateArchive)
def arch(entries, **kw):
    d = {"entries": entries}
    d.update(kw)
    return d


ok = [MANIFEST, ROOTFS]
archives = [
    v('valid-minimal', 'ACI-002', 'manifest and an empty rootfs directory', arch(ok), True),
    v('valid-gzip', 'ACI-006', 'gzip-compressed archive', arch(ok + [{"name": "rootfs/a", "contents": "a"}], compression='gzip'), True),
    v('valid-bzip2', 'ACI-006', 'bzip2-compressed archive', arch(ok + [{"name": "rootfs/a", "contents": "a"}], compression='bzip2'), True),
    v('valid-xz', 'ACI-006', 'xz-compressed archive', arch(ok + [{"name": "rootfs/a", "contents": "a"}], compression='xz'), True),
    v('valid-plain', 'ACI-006', 'plain tar', arch(ok + [{"name": "rootfs/a", "contents": "a"}], compression='none'), True),
    v('valid-dot-slash', 'ACI-002', 'names are cleaned: ./manifest, ./rootfs/ and a "." entry are fine',
      arch([{"name": "./", "type": "dir"}, {"name": "./manifest", "contents": M}, {"name": "./rootfs/", "type": "dir"}, {"name": "./rootfs/a", "contents": "a"}]), True),
    v('valid-inner-dotdot', 'ACI-002', 'rootfs/a/../b stays inside rootfs and is cleaned to rootfs/b',
      arch(ok + [{"name": "rootfs/a", "type": "dir"}, {"name": "rootfs/a/../b", "contents": "b"}]), True),
    v('valid-all-types', 'ACI-005', 'files, directories, symlinks, hard links, fifos and device nodes',
      arch(ok + [{"name": "rootfs/dev", "type": "dir"}, {"name": "rootfs/dev/null", "type": "char", "devmajor": 1, "devminor": 3, "mode": "0666"},
                 {"name": "rootfs/dev/loop0", "type": "block", "devmajor": 7, "devminor": 0, "mode": "0660"},
                 {"name": "rootfs/fifo", "type": "fifo"}, {"name": "rootfs/f", "contents": "f", "mode": "04755"},
                 {"name": "rootfs/h", "type": "hardlink", "linkname": "rootfs/f"}, {"name": "rootfs/s", "type": "symlink", "linkname": "/etc/passwd"}]), True),
    v('valid-manifest-last', 'ACI-002', 'the manifest may come after rootfs entries', arch([ROOTFS, {"name": "rootfs/a", "contents": "a"}, MANIFEST]), True),
    v('valid-old-acversion', 'ACI-016', 'an old acVersion is only a warning for an archive',
      arch([{"name": "manifest", "contents": json.dumps({"acKind": "ImageManifest", "acVersion": "0.5.0", "name": "example.com/app"})}, ROOTFS]), True,
      expect_extra={"warnings": ["WARN_ACI_OLD_VERSION"]}),
    v('missing-manifest', 'ACI-002', 'no manifest entry', arch([ROOTFS]), False, 'ERR_ACI_MISSING_MANIFEST'),
    v('missing-rootfs', 'ACI-002', 'entries under rootfs/ without the rootfs directory entry itself', arch([MANIFEST, {"name": "rootfs/a", "contents": "a"}]), False, 'ERR_ACI_MISSING_ROOTFS'),
    v('empty-archive', 'ACI-002', 'a tar with no entries', arch([]), False, None, expect_extra={"codes": ["ERR_ACI_MISSING_MANIFEST", "ERR_ACI_MISSING_ROOTFS"]}),
    v('extra-top-level', 'ACI-002', 'a name outside rootfs/', arch(ok + [{"name": "etc/passwd", "contents": "x"}]), False, 'ERR_ACI_EXTRA_TOP_LEVEL'),
    v('extra-rootfs-orig', 'ACI-002', 'rootfs.orig/x is outside rootfs/ (ours; the reference only checks the "rootfs" prefix)',
      arch(ok + [{"name": "rootfs.orig", "type": "dir"}, {"name": "rootfs.orig/x", "contents": "x"}]), False, 'ERR_ACI_EXTRA_TOP_LEVEL', reference={"valid": True}),
    v('extra-rootfsx', 'ACI-002', 'a top-level file rootfsX (ours; the reference accepts names starting with "rootfs")',
      arch(ok + [{"name": "rootfsX", "contents": "x"}]), False, 'ERR_ACI_EXTRA_TOP_LEVEL', reference={"valid": True}),
    v('rootfs-is-file', 'ACI-002', 'rootfs is a regular file', arch([MANIFEST, {"name": "rootfs", "contents": "x"}]), False, 'ERR_ACI_ROOTFS_NOT_DIR'),
    v('rootfs-is-symlink', 'ACI-002', 'rootfs is a symlink', arch([MANIFEST, {"name": "rootfs", "type": "symlink", "linkname": "/"}]), False, 'ERR_ACI_ROOTFS_NOT_DIR'),
    v('manifest-is-dir', 'ACI-002', 'manifest is a directory (the reference fails it as empty JSON)', arch([{"name": "manifest", "type": "dir"}, ROOTFS]), False, 'ERR_ACI_MANIFEST_NOT_FILE'),
    v('manifest-is-symlink', 'ACI-002', 'manifest is a symlink', arch([{"name": "manifest", "type": "symlink", "linkname": "rootfs/m"}, ROOTFS]), False, 'ERR_ACI_MANIFEST_NOT_FILE'),
    v('duplicate-file', 'ACI-003', 'the same file twice', arch(ok + [{"name": "rootfs/a", "contents": "1"}, {"name": "rootfs/a", "contents": "2"}]), False, 'ERR_ACI_DUPLICATE_ENTRY'),
    v('duplicate-cleaned', 'ACI-003', 'rootfs/a and ./rootfs/a are the same entry', arch(ok + [{"name": "rootfs/a", "contents": "1"}, {"name": "./rootfs/a", "contents": "2"}]), False, 'ERR_ACI_DUPLICATE_ENTRY'),
    v('duplicate-manifest', 'ACI-003', 'two manifest entries (the reference concatenates them and fails as JSON)', arch([MANIFEST, ROOTFS, MANIFEST]), False, 'ERR_ACI_DUPLICATE_ENTRY'),
    v('duplicate-rootfs', 'ACI-003', 'two rootfs directory entries (ours; the reference accepts them)', arch([MANIFEST, ROOTFS, ROOTFS]), False, 'ERR_ACI_DUPLICATE_ENTRY', reference={"valid": True}),
    v('duplicate-directory', 'ACI-003', 'the same directory twice', arch(ok + [{"name": "rootfs/d", "type": "dir"}, {"name": "rootfs/d/", "type": "dir"}]), False, 'ERR_ACI_DUPLICATE_ENTRY'),
    v('manifest-not-json', 'ACI-004', 'the manifest is not JSON', arch([{"name": "manifest", "contents": "{nope"}, ROOTFS]), False, 'ERR_SCHEMA_JSON'),
    v('manifest-invalid', 'ACI-004', 'the manifest lacks its name', arch([{"name": "manifest", "contents": '{"acKind":"ImageManifest","acVersion":"0.8.11"}'}, ROOTFS]), False, 'ERR_SCHEMA_REQUIRED'),
    v('manifest-pod', 'ACI-004', 'the manifest is a pod manifest', arch([{"name": "manifest", "contents": '{"acKind":"PodManifest","acVersion":"0.8.11","apps":[]}'}, ROOTFS]), False, None, expect_extra={"codes": ["ERR_SCHEMA_AC_KIND_MISMATCH", "ERR_SCHEMA_REQUIRED"]}),
    v('escape-absolute', 'ACI-012', 'an absolute name', arch(ok + [{"name": "/rootfs/etc/passwd", "contents": "x"}]), False, 'ERR_ACI_PATH_ESCAPE'),
    v('escape-absolute-outside', 'ACI-012', 'an absolute name outside any image', arch(ok + [{"name": "/tmp/aci-escape", "contents": "x"}]), False, 'ERR_ACI_PATH_ESCAPE'),
    v('escape-dotdot', 'ACI-012', 'a name that climbs above the archive root', arch(ok + [{"name": "rootfs/../../aci-escape", "contents": "x"}]), False, 'ERR_ACI_PATH_ESCAPE'),
    v('escape-leading-dotdot', 'ACI-012', 'a name starting with ..', arch(ok + [{"name": "../aci-escape", "contents": "x"}]), False, 'ERR_ACI_PATH_ESCAPE'),
    v('escape-rootfs', 'ACI-012', 'rootfs/../x climbs out of rootfs', arch(ok + [{"name": "rootfs/../x", "contents": "x"}]), False, 'ERR_ACI_PATH_ESCAPE'),
    v('escape-symlink-parent', 'ACI-012', 'a symlink laid down earlier in the archive, then used as a parent',
      arch(ok + [{"name": "rootfs/evil", "type": "symlink", "linkname": "/tmp"}, {"name": "rootfs/evil/aci-escape", "contents": "x"}]), False, 'ERR_ACI_PATH_ESCAPE'),
    v('escape-symlink-grandparent', 'ACI-012', 'a symlink used as a grandparent',
      arch(ok + [{"name": "rootfs/evil", "type": "symlink", "linkname": "../../.."}, {"name": "rootfs/evil/x/aci-escape", "contents": "x"}]), False, 'ERR_ACI_PATH_ESCAPE'),
    v('escape-hardlink-outside', 'ACI-012', 'a hard link to a path outside the tree',
      arch(ok + [{"name": "rootfs/h", "type": "hardlink", "linkname": "../../../../etc/passwd"}]), False, 'ERR_ACI_PATH_ESCAPE'),
    v('escape-hardlink-absolute', 'ACI-012', 'a hard link to an absolute path',
      arch(ok + [{"name": "rootfs/h", "type": "hardlink", "linkname": "/etc/passwd"}]), False, 'ERR_ACI_PATH_ESCAPE'),
    v('escape-hardlink-manifest', 'ACI-012', 'a hard link to the manifest (outside rootfs/)',
      arch(ok + [{"name": "rootfs/h", "type": "hardlink", "linkname": "manifest"}]), False, 'ERR_ACI_PATH_ESCAPE'),
    v('hardlink-missing', 'ACI-005', 'a hard link to an entry that does not come before it',
      arch(ok + [{"name": "rootfs/h", "type": "hardlink", "linkname": "rootfs/later"}, {"name": "rootfs/later", "contents": "x"}]), False, 'ERR_ACI_BAD_HARDLINK'),
    v('path-under-file', 'ACI-012', 'an entry under a path an earlier entry made a regular file',
      arch(ok + [{"name": "rootfs/f", "contents": "x"}, {"name": "rootfs/f/g", "contents": "y"}]), False, 'ERR_ACI_PATH_CONFLICT'),
    v('format-gnu-long', 'ACI-015', 'GNU long names and long link targets (L and K records)',
      arch(ok + [{"name": "rootfs/" + "d" * 120 + "/file", "contents": "x"}, {"name": "rootfs/l", "type": "symlink", "linkname": "/" + "t" * 150}], format='gnu'), True),
    v('format-pax-long', 'ACI-015', 'PAX path and linkpath records',
      arch(ok + [{"name": "rootfs/" + ("p" * 60 + "/") * 5 + "file", "contents": "x"}, {"name": "rootfs/l", "type": "symlink", "linkname": "/" + "t" * 150}], format='pax'), True),
    v('format-ustar-prefix', 'ACI-015', 'USTAR prefix field for a long name', arch(ok + [{"name": "rootfs/" + "a" * 90 + "/" + "b" * 90, "contents": "x"}], format='ustar'), True),
    v('format-v7', 'ACI-015', 'pre-POSIX v7 headers (no ustar magic, valid checksum): read as tar (ours; the reference does not recognise them)',
      arch(ok + [{"name": "rootfs/a", "contents": "a"}], format='v7'), True, reference={"valid": False}),
    v('format-v7-gzip', 'ACI-015', 'v7 headers inside gzip', arch(ok + [{"name": "rootfs/a", "contents": "a"}], format='v7', compression='gzip'), True, reference={"valid": False}),
    v('format-pax-records', 'ACI-015', 'PAX uid, gid, uname, gname, mtime, size and SCHILY.xattr records',
      arch(ok + [{"name": "rootfs/a", "contents": "abc", "pax": {"uid": "3000000", "gid": "3000001", "uname": "someone", "gname": "somegroup", "mtime": "1700000000.5", "SCHILY.xattr.user.note": "hello", "atime": "1", "ctime": "2"}}]), True),
    v('format-no-end-blocks', 'ACI-015', 'an archive without the two zero end blocks (GNU tar and Go accept it)', arch(ok, noEndBlocks=True), True),
    v('bad-checksum', 'ACI-015', 'a header with a wrong checksum', arch(ok + [{"name": "rootfs/a", "contents": "a", "badChecksum": True}]), False, 'ERR_ACI_BAD_TAR_HEADER'),
    v('unknown-typeflag', 'ACI-015', 'an entry of an unknown tar type', arch(ok + [{"name": "rootfs/z", "type": "Z"}]), False, 'ERR_ACI_UNSUPPORTED_ENTRY'),
    v('gnu-sparse', 'ACI-015', 'a GNU sparse file (S) with an empty map is an empty regular file (GNU tar, Python and Go read it so)',
      arch(ok + [{"name": "rootfs/s", "type": "S"}], format='gnu'), True),
    v('truncated-data', 'ACI-015', 'the archive ends inside a file', arch(ok + [{"name": "rootfs/a", "contents": "x" * 5000}], truncateAt=2048), False, 'ERR_ACI_TRUNCATED'),
    v('truncated-header', 'ACI-015', 'the archive ends inside a header block', arch(ok, truncateAt=700), False, 'ERR_ACI_TRUNCATED'),
    v('truncated-gzip', 'ACI-015', 'the archive ends inside a file (gzip)', arch(ok + [{"name": "rootfs/a", "contents": "x" * 5000}], truncateAt=2048, compression='gzip'), False, 'ERR_ACI_TRUNCATED'),
    v('declared-size-huge', 'ACI-015', 'a declared size far beyond the end of the file (8 GiB)',
      arch(ok + [{"name": "rootfs/a", "contents": "x", "declaredSize": 8589934591}], compression='gzip'), False, 'ERR_ACI_TRUNCATED'),
    v('pax-huge', 'ACI-015', 'a PAX extended header larger than the 1 MiB limit', arch(ok + [{"name": "rootfs/a", "contents": "x", "pax": {"comment": "c" * (1024 * 1024 + 10)}}]), False, 'ERR_ACI_LIMIT'),
    v('pax-malformed', 'ACI-015', 'a malformed PAX record', arch(ok + [{"name": "rootfs/a", "contents": "x", "pax": {"": "x"}}]), False, 'ERR_ACI_BAD_TAR_HEADER'),
    v('garbage', 'ACI-006', 'a file that is neither gzip, bzip2, xz nor tar', {"archive": "fixtures/garbage.aci"}, False, 'ERR_ACI_BAD_COMPRESSION'),
    v('empty-file', 'ACI-006', 'an empty file', {"archive": "fixtures/empty.aci"}, False, 'ERR_ACI_BAD_COMPRESSION'),
    v('gzip-damaged', 'ACI-006', 'gzip data cut short', {"archive": "fixtures/cut.aci"}, False, 'ERR_ACI_TRUNCATED'),
    v('encrypted-binary', 'ACI-007', 'an OpenPGP symmetrically encrypted archive (gpg -c) is reported as encrypted', {"archive": "fixtures/encrypted.aci"}, False, 'ERR_ACI_ENCRYPTED'),
    v('encrypted-armored', 'ACI-007', 'an ASCII-armored OpenPGP message is reported as encrypted', {"archive": "fixtures/encrypted-armored.aci"}, False, 'ERR_ACI_ENCRYPTED'),
]
write('archives.json', archives)

# ---------------------------------------------------------------- ours: layouts (validateLayout) and builds
def layout(files):
    return {"layout": {"files": files}}


LM = {"path": "manifest", "contents": M}
LR = {"path": "rootfs", "type": "dir"}
layouts = [
    v('layout-valid', 'ACI-009', 'manifest and rootfs', layout([LM, LR, {"path": "rootfs/a", "contents": "a"}]), True),
    v('layout-extra', 'ACI-009', 'another name at the top', layout([LM, LR, {"path": "README", "contents": "x"}]), False, 'ERR_ACI_EXTRA_TOP_LEVEL'),
    v('layout-missing-rootfs', 'ACI-009', 'no rootfs', layout([LM]), False, 'ERR_ACI_MISSING_ROOTFS'),
    v('layout-missing-manifest', 'ACI-009', 'no manifest', layout([LR]), False, 'ERR_ACI_MISSING_MANIFEST'),
    v('layout-rootfs-symlink', 'ACI-009', 'rootfs is a symlink to a directory (not followed)', layout([LM, {"path": "rootfs", "type": "symlink", "target": "/"}]), False, 'ERR_ACI_ROOTFS_NOT_DIR'),
    v('layout-manifest-dir', 'ACI-009', 'manifest is a directory', layout([{"path": "manifest", "type": "dir"}, LR]), False, 'ERR_ACI_MANIFEST_NOT_FILE'),
    v('layout-old-version', 'ACI-016', 'an old acVersion is an error for a layout', layout([{"path": "manifest", "contents": json.dumps({"acKind": "ImageManifest", "acVersion": "0.5.0", "name": "example.com/app"})}, LR]), False, 'ERR_ACI_OLD_VERSION'),
    v('layout-bad-manifest', 'ACI-004', 'the manifest is not valid', layout([{"path": "manifest", "contents": '{"acKind":"ImageManifest","acVersion":"0.8.11","name":"Not Valid"}'}, LR]), False, 'ERR_SCHEMA_AC_IDENTIFIER'),
    v('build-bad-extension', 'ACI-001', 'building to a name that does not end in .aci is refused', {"build": {"files": [LM, LR]}, "output": "image.tar"}, False, 'ERR_ACI_BAD_EXTENSION'),
    v('build-ok', 'ACI-014', 'building a valid layout to image.aci', {"build": {"files": [LM, LR, {"path": "rootfs/a", "contents": "a"}]}, "output": "image.aci"}, True),
]
write('layouts.json', layouts)
print(len(reference), len(renderer), len(archives), len(layouts))
