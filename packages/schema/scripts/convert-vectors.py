#!/usr/bin/env python3
"""Writes conformance/vectors/{types,img,pod,iso}/*.json from ../shared/vectors/appc-spec (the reference's
tests) plus our own cases. Verdicts and codes are OURS, decided here by hand per file and case; where the
reference decides otherwise (a Divergence or an (ours) line of REQUIREMENTS.md) the vector also carries
`reference: {valid}` and says so in its title. Run from the repository root:
    python3 packages/schema/scripts/convert-vectors.py ../shared/vectors/appc-spec
"""
import json, os, sys

SRC = sys.argv[1] if len(sys.argv) > 1 else '../shared/vectors/appc-spec'
OUT = 'conformance/vectors'
FULL = 'sha512-cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e'
OURS = 'ours'

def load(name):
    with open(os.path.join(SRC, name)) as f:
        return json.load(f)

files = {}
def add(section, file, vid, req, title, inp, valid, code=None, codes=None, source=OURS, reference=None, warnings=None, **extra):
    exp = {'valid': valid}
    if codes is not None and len(codes) == 1:
        code, codes = codes[0], None
    if code is not None: exp['code'] = code
    if codes is not None: exp['codes'] = codes
    if warnings: exp['warnings'] = warnings
    exp.update(extra)
    v = {'id': f'{section}/{vid}', 'requirement': req, 'title': title, 'input': inp, 'expect': exp, 'source': source}
    if reference is not None:
        v['reference'] = {'valid': reference}
        if reference != valid and 'reference' not in title:
            v['title'] = f'{title} (ours: {"valid" if valid else "invalid"}; the reference says {"valid" if reference else "invalid"})'
    files.setdefault((section, file), []).append(v)

def slug(s):
    out = ''.join(c if c.isalnum() else '-' for c in str(s).lower())
    while '--' in out: out = out.replace('--', '-')
    return out.strip('-')[:40] or 'empty'

counter = {}
def uid(section, base):
    k = (section, base)
    counter[k] = counter.get(k, 0) + 1
    return base if counter[k] == 1 else f'{base}-{counter[k]}'

def ref_hash_ok(v):
    # the reference's image ID check (TYPES-006): two parts split at "-", sha512 and anything non-empty
    parts = v.split('-')
    return len(parts) == 2 and parts[0] == 'sha512' and parts[1] != ''

def T(file, base, req, title, inp, valid, **kw):
    add('types', file, uid('types', base), req, title, inp, valid, **kw)

# ---------------- TYPES: converted ----------------
d = load('types-acidentifier.json'); src = 'appc/spec schema/types/acidentifier_test.go'
import re
AC_ID = re.compile(r'^[a-z0-9]+([-._~/][a-z0-9]+)*$')
for s in d['valid'] + d['alsoValid']:
    if AC_ID.match(s):
        T('ac-identifier', f'ac-identifier/valid-{slug(s)}', 'TYPES-001', f'"{s}" is an AC Identifier', {'type': 'acIdentifier', 'value': s}, True, source=src)
    else:
        # "/~" is a run of two separators the spec's regex forgets, but its own example example.com/~user/app_v1 has it.
        T('ac-identifier', f'ac-identifier/valid-{slug(s)}', 'TYPES-001', f'"{s}" has "/~" like the spec example example.com/~user/app_v1 (its regex alone would refuse it)', {'type': 'acIdentifier', 'value': s}, True, source=src)
for s in d['invalid']:
    T('ac-identifier', f'ac-identifier/invalid-{slug(s)}', 'TYPES-001', f'"{s}" is not an AC Identifier', {'type': 'acIdentifier', 'value': s}, False, code='ERR_SCHEMA_AC_IDENTIFIER', source=src)
for c in d['sanitize']:
    T('ac-identifier', f'ac-identifier/sanitize-{slug(c["in"])}', 'TYPES-002', f'sanitising "{c["in"]}" gives "{c["out"]}"', {'type': 'sanitizeAcIdentifier', 'value': c['in']}, True, output=c['out'], source=src)
for s in d['sanitizeFails']:
    T('ac-identifier', f'ac-identifier/sanitize-fails-{slug(s)}', 'TYPES-002', f'sanitising "{s}" leaves nothing', {'type': 'sanitizeAcIdentifier', 'value': s}, False, code='ERR_SCHEMA_EMPTY', source=src)
for c in d['jsonValid']:
    T('ac-identifier', f'ac-identifier/json-{slug(c["value"])}', 'TYPES-001', f'JSON text {c["json"]} reads as an AC Identifier', {'type': 'acIdentifier', 'jsonText': c['json']}, True, source=src)
for s in d['jsonInvalid']:
    bad_json = not s.startswith('"')
    T('ac-identifier', f'ac-identifier/json-invalid-{slug(s)}', 'TYPES-001', f'JSON text {s!r} is not an AC Identifier', {'type': 'acIdentifier', 'jsonText': s}, False, code='ERR_SCHEMA_JSON' if bad_json else 'ERR_SCHEMA_AC_IDENTIFIER', source=src)
for c in d['errorKind']:
    T('ac-identifier', f'ac-identifier/kind-{slug(c["in"])}', 'TYPES-001', f'"{c["in"]}" fails as {c["error"]}', {'type': 'acIdentifier', 'value': c['in']}, False, code='ERR_SCHEMA_AC_IDENTIFIER', problem=c['error'], source=src)

d = load('types-acname.json'); src = 'appc/spec schema/types/acname_test.go'
for s in d['valid'] + d['alsoValid']:
    T('ac-name', f'ac-name/valid-{slug(s)}', 'TYPES-003', f'"{s}" is an AC Name', {'type': 'acName', 'value': s}, True, source=src)
for s in d['invalid']:
    T('ac-name', f'ac-name/invalid-{slug(s)}', 'TYPES-003', f'"{s}" is not an AC Name', {'type': 'acName', 'value': s}, False, code='ERR_SCHEMA_AC_NAME', source=src)
for c in d['sanitize']:
    T('ac-name', f'ac-name/sanitize-{slug(c["in"])}', 'TYPES-003', f'sanitising "{c["in"]}" gives "{c["out"]}"', {'type': 'sanitizeAcName', 'value': c['in']}, True, output=c['out'], source=src)
for s in d['sanitizeFails']:
    T('ac-name', f'ac-name/sanitize-fails-{slug(s)}', 'TYPES-003', f'sanitising "{s}" leaves nothing', {'type': 'sanitizeAcName', 'value': s}, False, code='ERR_SCHEMA_EMPTY', source=src)
for c in d['jsonValid']:
    T('ac-name', f'ac-name/json-{slug(c["value"])}', 'TYPES-003', f'JSON text {c["json"]} reads as an AC Name', {'type': 'acName', 'jsonText': c['json']}, True, source=src)
for s in d['jsonInvalid']:
    T('ac-name', f'ac-name/json-invalid-{slug(s)}', 'TYPES-003', f'JSON text {s!r} is not an AC Name', {'type': 'acName', 'jsonText': s}, False, code='ERR_SCHEMA_JSON' if not s.startswith('"') else 'ERR_SCHEMA_AC_NAME', source=src)
for c in d['errorKind']:
    T('ac-name', f'ac-name/kind-{slug(c["in"])}', 'TYPES-003', f'"{c["in"]}" fails as {c["error"]}', {'type': 'acName', 'value': c['in']}, False, code='ERR_SCHEMA_AC_NAME', problem=c['error'], source=src)

d = load('types-ackind.json'); src = 'appc/spec schema/types/ackind_test.go'
for s in d['valid']:
    T('ac-kind', f'ac-kind/valid-{slug(s)}', 'TYPES-004', f'"{s}" is an AC Kind', {'type': 'acKind', 'value': s}, True, source=src)
for s in d['invalid']:
    T('ac-kind', f'ac-kind/invalid-{slug(s)}', 'TYPES-004', f'"{s}" is not an AC Kind', {'type': 'acKind', 'value': s}, False, code='ERR_SCHEMA_AC_KIND', source=src)
for c in d['jsonValid']:
    T('ac-kind', f'ac-kind/json-{slug(c["value"])}', 'TYPES-004', f'JSON text {c["json"]} is an AC Kind', {'type': 'acKind', 'jsonText': c['json']}, True, source=src)
for s in d['jsonInvalid']:
    T('ac-kind', f'ac-kind/json-invalid-{slug(s)}', 'TYPES-004', f'JSON text {s!r} is not an AC Kind', {'type': 'acKind', 'jsonText': s}, False, code='ERR_SCHEMA_AC_KIND' if s.startswith('"') else 'ERR_SCHEMA_JSON', source=src)

d = load('types-semver.json'); src = 'appc/spec schema/types/semver_test.go'
for c in d['valid']:
    T('ac-version', f'semver/valid-{slug(c["canonical"])}', 'TYPES-005', f'{c["json"]} is SemVer 2.0.0', {'type': 'semver', 'jsonText': c['json']}, True, semver={k: c[k] for k in ('major', 'minor', 'patch', 'preRelease', 'metadata', 'canonical')}, source=src)
for c in d['invalid']:
    T('ac-version', f'semver/invalid-{slug(c["json"])}', 'TYPES-005', f'{c["json"]} is not SemVer: {c["why"]}', {'type': 'semver', 'jsonText': c['json']}, False, code='ERR_SCHEMA_JSON' if not c['json'].startswith('"') else 'ERR_SCHEMA_AC_VERSION', source=src)

d = load('types-hash.json'); src = 'appc/spec schema/types/hash_test.go'
for c in d['serialize']:
    s = f'{c["type"]}-{c["value"]}'
    full = re.fullmatch(r'[0-9a-f]{128}', c['value']) is not None
    T('image-id', f'image-id/read-{slug(c["value"])}', 'TYPES-006', f'"{s}" ' + ('is an image ID' if full else 'is not an image ID: the value is the hex SHA-512 digest, 128 hex digits (TYPES-006; the reference checks neither hex nor length)'), {'type': 'imageId', 'value': s}, full, code=None if full else 'ERR_SCHEMA_IMAGE_ID', reference=None if full else True, source=src)
for c in d['serializeFails']:
    s = f'{c["type"]}-{c["value"]}'
    T('image-id', f'image-id/invalid-{slug(s)}', 'TYPES-006', f'"{s}" is not an image ID: {c["why"]}', {'type': 'imageId', 'value': s}, False, code='ERR_SCHEMA_IMAGE_ID', source=src)

d = load('types-date.json'); src = 'appc/spec schema/types/date_test.go'
for c in d['valid']:
    T('timestamp', f'date/valid-{slug(c["json"])}', 'TYPES-008', f'{c["json"]} is an RFC 3339 date-time', {'type': 'date', 'jsonText': c['json']}, True, instant=c['instant'], source=src)
for s in d['invalid']:
    T('timestamp', f'date/invalid-{slug(s)}', 'TYPES-008', f'{s!r} is not a date-time', {'type': 'date', 'jsonText': s}, False, code='ERR_SCHEMA_TIMESTAMP' if s.startswith('"') else 'ERR_SCHEMA_JSON', source=src)

d = load('types-url.json'); src = 'appc/spec schema/types/url_test.go'
for s in d['valid']:
    T('url', f'url/valid-{slug(s)}', 'TYPES-012', f'"{s}" is an http(s) URL', {'type': 'url', 'value': s}, True, source=src)
for s in d['invalid']:
    T('url', f'url/invalid-{slug(s)}', 'TYPES-012', f'"{s}" is not an http(s) URL', {'type': 'url', 'value': s}, False, code='ERR_SCHEMA_URL', source=src)
for s in d['jsonValid']:
    T('url', f'url/json-{slug(s)}', 'TYPES-012', f'JSON text {s} is an http(s) URL', {'type': 'url', 'jsonText': s}, True, source=src)
for s in d['jsonInvalid']:
    T('url', f'url/json-invalid-{slug(s)}', 'TYPES-012', f'JSON text {s!r} is not an http(s) URL', {'type': 'url', 'jsonText': s}, False, code='ERR_SCHEMA_URL' if s.startswith('"') else 'ERR_SCHEMA_JSON', source=src)

d = load('types-uuid.json'); src = 'appc/spec schema/types/uuid_test.go'
for c in d['valid']:
    T('uuid', f'uuid/valid-{slug(c["in"])}', 'TYPES-015', f'"{c["in"]}" is a UUID', {'type': 'uuid', 'value': c['in']}, True, canonical=c['canonical'], source=src)
for s in d['invalid']:
    T('uuid', f'uuid/invalid-{slug(s)}', 'TYPES-015', f'"{s}" is not a UUID', {'type': 'uuid', 'value': s}, False, code='ERR_SCHEMA_UUID', source=src)

d = load('types-environment.json'); src = 'appc/spec schema/types/environment_test.go'
for c in d['cases']:
    why = c.get('why', 'valid names')
    code = None if c['valid'] else ('ERR_SCHEMA_DUPLICATE_NAME' if 'duplicate' in why else 'ERR_SCHEMA_ENV_NAME')
    T('environment', f'environment/{slug(why)}-{slug(c["environment"][0]["name"])}', 'TYPES-014', f'environment: {why}', {'type': 'environment', 'value': c['environment']}, c['valid'], code=code, source=src)

d = load('types-dependencies.json'); src = 'appc/spec schema/types/dependencies_test.go'
for c in d['cases']:
    T('dependency', 'dependency/name-only', 'IMG-017', 'a dependency with imageName only', {'type': 'dependency', 'value': c['dependency']}, True, serialized=c['serialized'], source=src)

d = load('types-port.json'); src = 'appc/spec schema/types/port_test.go'
for c in d['cases']:
    port = {'name': 'p', 'protocol': 'tcp', **c['port']}
    why = c.get('why', 'range inside 1..65535')
    T('port', f'port/{slug(why)}', 'IMG-014', f'port {c["port"]}: {why} (name and protocol added: the spec requires them)', {'type': 'port', 'value': port}, c['valid'], code=None if c['valid'] else 'ERR_SCHEMA_PORT', source=src)
T('port', 'port/no-name-no-protocol', 'IMG-014', 'a port without name and protocol', {'type': 'port', 'value': {'port': 32456, 'count': 100}}, False, code='ERR_SCHEMA_REQUIRED', reference=True, source=src)

d = load('types-mountpoint.json'); src = 'appc/spec schema/types/mountpoint_test.go'
for c in d['valid']:
    T('mount-point', f'mount-point-arg/{slug(c["in"])}', 'IMG-013', f'"{c["in"]}" reads as a mount point', {'type': 'mountPointArg', 'value': c['in']}, True, mountPoint=c['mountPoint'], source=src)
for s in d['invalid']:
    T('mount-point', f'mount-point-arg/invalid-{slug(s)}', 'IMG-013', f'"{s}" is not a mount point argument', {'type': 'mountPointArg', 'value': s}, False, code='ERR_SCHEMA_ARGUMENT', source=src)

d = load('types-volume.json'); src = 'appc/spec schema/types/volume_test.go'
for c in d['valid']:
    T('volume', f'volume-arg/{slug(c["in"])}', 'POD-012', f'"{c["in"]}" reads as a volume', {'type': 'volumeArg', 'value': c['in']}, True, volume=c['volume'], source=src)
for s in d['invalid']:
    T('volume', f'volume-arg/invalid-{slug(s)}', 'POD-012', f'"{s}" is not a volume argument', {'type': 'volumeArg', 'value': s}, False, code='ERR_SCHEMA_ARGUMENT', source=src)

d = load('types-labels.json'); src = 'appc/spec schema/types/labels_test.go'
for c in d['cases']:
    labels = c['labels']
    desc = ','.join(f'{l["name"]}={l.get("value", "")}' for l in labels) or 'empty'
    code = None
    req = 'TYPES-010'
    if not c['valid']:
        p = c['errorPrefix']
        if p.startswith('invalid label name'): code, req = 'ERR_SCHEMA_LABEL_NAME_RESERVED', 'TYPES-009'
        elif p.startswith('duplicate'): code, req = 'ERR_SCHEMA_DUPLICATE_NAME', 'TYPES-009'
        else: code = 'ERR_SCHEMA_OS_ARCH'
    codes = [code] if code else None
    if any('value' not in l for l in labels):
        codes = (codes or []) + ['ERR_SCHEMA_REQUIRED']  # TYPES-009: a label has a value
    T('labels', f'labels/{slug(desc)}', req, f'labels {desc}' + ('' if c['valid'] else f': {c["errorPrefix"]}'), {'type': 'labels', 'value': labels}, c['valid'], codes=codes, source=src)

d = load('types-annotations.json'); src = 'appc/spec schema/types/annotations_test.go'
for c in d['validity']:
    why = c.get('why', 'valid')
    code = None
    if not c['valid']:
        code = 'ERR_SCHEMA_DUPLICATE_NAME' if 'duplicate' in why else ('ERR_SCHEMA_TIMESTAMP' if 'created' in why else 'ERR_SCHEMA_URL')
    names = ','.join(a['name'] for a in c['annotations']) or 'empty'
    T('annotations', f'annotations/{slug(names)}-{slug(why)}', 'TYPES-012', f'annotations {names}: {why}', {'type': 'annotations', 'value': c['annotations']}, c['valid'], code=code, source=src)
for c in d['serialize']:
    names = ','.join(a['name'] for a in c['annotations'])
    T('annotations', f'annotations/serialize-{slug(names)}', 'TYPES-012', f'annotations {names} ' + ('repeat a name' if c.get('error') else 'are valid'), {'type': 'annotations', 'value': c['annotations']}, not c.get('error'), code='ERR_SCHEMA_DUPLICATE_NAME' if c.get('error') else None, source=src)
for c in d['parse']:
    code = None if c['valid'] else ('ERR_SCHEMA_JSON' if not c['json'].startswith('[') else 'ERR_SCHEMA_DUPLICATE_NAME')
    T('annotations', f'annotations/json-{slug(c["json"])}', 'TYPES-012', f'annotations JSON text {c["json"][:40]}', {'type': 'annotations', 'jsonText': c['json']}, c['valid'], code=code, source=src)

d = load('types-app.json'); src = 'appc/spec schema/types/app_test.go, exec_test.go'
for i, c in enumerate(d['cases']):
    app = c['app']
    why = c.get('why', 'valid app')
    handlers = app.get('eventHandlers') or []
    no_exec = any('exec' not in h for h in handlers)
    codes = []
    if 'handlers' in why: codes.append('ERR_SCHEMA_DUPLICATE_NAME')
    if 'missing' in why: codes.append('ERR_SCHEMA_REQUIRED')
    if 'workingDirectory' in why: codes.append('ERR_SCHEMA_PATH_NOT_ABSOLUTE')
    if 'environment' in why: codes.append('ERR_SCHEMA_ENV_NAME')
    if no_exec: codes.append('ERR_SCHEMA_EVENT_HANDLER')
    valid = not codes
    ref = c['valid'] if (no_exec and c['valid'] != valid) else None
    title = f'app: {why}' + (' with event handlers that have no exec (IMG-009 ours: SHOULD reject)' if no_exec else '')
    T('app', f'app/case-{i}-{slug(why)}', 'IMG-009' if no_exec else ('IMG-007' if 'missing' in why else 'IMG-010' if 'workingDirectory' in why else 'IMG-011' if 'environment' in why else 'IMG-006'),
      title, {'type': 'app', 'value': app}, valid, codes=codes or None, reference=ref, source=src)
for i, c in enumerate(d['parse']):
    why = c.get('why', 'valid app')
    if c['json'] == 'garbage':
        T('app', 'app/json-garbage', 'IMG-019', 'app JSON text "garbage"', {'type': 'app', 'jsonText': c['json']}, False, code='ERR_SCHEMA_JSON', source=src)
        continue
    codes = []
    if 'not a list' in why: codes = ['ERR_SCHEMA_TYPE', 'ERR_SCHEMA_REQUIRED']
    elif 'missing' in why: codes = ['ERR_SCHEMA_REQUIRED']
    T('app', f'app/json-{i}-{slug(why)}', 'IMG-007' if codes == ['ERR_SCHEMA_REQUIRED'] else 'IMG-006', f'app JSON: {why}', {'type': 'app', 'jsonText': c['json']}, c['valid'], codes=codes or None, source=src)
    if 'goTestJson' in c:
        # Capitalised member names: the reference matches them case-insensitively, we do not (IMG-020).
        T('app', f'app/json-capitalised-{i}', 'IMG-020', f'app JSON with capitalised member names ({c["goTestJson"][:30]}…): the spec spelling only', {'type': 'app', 'jsonText': c['goTestJson']}, False,
          code='ERR_SCHEMA_REQUIRED', warnings=['WARN_SCHEMA_MEMBER_CASE'], reference=c['valid'], source=src)
for ex in d['execValid']:
    T('app', f'app/exec-{slug(" ".join(ex))}', 'IMG-006', f'exec {ex}', {'type': 'app', 'value': {'exec': ex, 'user': '0', 'group': '0'}}, True, source=src)

d = load('resource-quantity.json'); src = 'appc/spec schema/types/resource/quantity_test.go'
def neg(s): return s if s == '0' else '-' + s
for c in d['parse']:
    base = f'quantity/{slug(c["in"])}'
    T('quantity', base, 'TYPES-017', f'"{c["in"]}" is {c["bytes"]} base units, {c["milli"]} thousandths' + (f' ({c["note"]})' if c.get('note') else ''), {'type': 'quantity', 'value': c['in']}, True, bytes=c['bytes'], milli=c['milli'], format=c['format'], amount={'unscaled': c['unscaled'], 'exponent': c['exponent']}, source=src)
    T('quantity', base + '-neg', 'TYPES-017', f'"-{c["in"]}" is the negated amount', {'type': 'quantity', 'value': '-' + c['in']}, True, bytes=neg(c['bytes']), milli=neg(c['milli']), format=c['format'], source=src)
    T('quantity', base + '-plus', 'TYPES-016', f'"+{c["in"]}" is the same amount', {'type': 'quantity', 'value': '+' + c['in']}, True, bytes=c['bytes'], milli=c['milli'], format=c['format'], source=src)
for s in d['invalid']:
    T('quantity', f'quantity/invalid-{slug(s)}', 'TYPES-016', f'{s!r} is not a quantity', {'type': 'quantity', 'value': s}, False, code='ERR_SCHEMA_QUANTITY', source=src)
for c in d['emit']:
    T('quantity', f'quantity/emit-{slug(c["in"])}', 'TYPES-016', f'"{c["in"]}" is written canonically as "{c["canonical"]}"', {'type': 'quantity', 'value': c['in']}, True, canonical=c['canonical'], source=src)
for c in d['jsonWhitespace']:
    T('quantity', f'quantity/json-{slug(c["json"])}', 'TYPES-016', f'JSON {c["json"]!r} is the quantity "{c["canonical"]}" (spaces trimmed)', {'type': 'quantity', 'jsonText': c['json']}, True, canonical=c['canonical'], source=src)

# ---------------- TYPES: ours ----------------
for s, ok in [('a--b', False), ('a//b', False), ('a..b', False), ('a-.b', False), ('a-b.c/d_e~f', True)]:
    T('ac-identifier', f'ac-identifier/ours-{slug(s)}-{ok}', 'TYPES-001', f'"{s}" ' + ('is an AC Identifier' if ok else 'has a run of separators (TYPES-001 Divergence: the regex applies)'),
      {'type': 'acIdentifier', 'value': s}, ok, code=None if ok else 'ERR_SCHEMA_AC_IDENTIFIER', reference=True)
T('ac-name', 'ac-name/ours-double-dash', 'TYPES-003', '"a--b" has a run of dashes (TYPES-003 Divergence)', {'type': 'acName', 'value': 'a--b'}, False, code='ERR_SCHEMA_AC_NAME', reference=True)
T('ac-name', 'ac-name/ours-default-app-name', 'TYPES-003', 'the default app name of "coreos.com/etcd" is "etcd" (rkt)', {'type': 'sanitizeAcName', 'value': 'etcd'}, True, output='etcd')
for s, ok, code, ref in [('0.8.11', True, None, True), ('0.1.0', False, 'ERR_SCHEMA_AC_VERSION', True), ('0.8.11-rc.1', False, 'ERR_SCHEMA_AC_VERSION', True), ('0.8.11+git', True, None, True),
                         ('0.1.1', True, None, True), ('0.5.2', True, None, True), ('0.7.99', False, 'ERR_SCHEMA_AC_VERSION', True), ('0.8.10+build.5', True, None, True),
                         ('0.8.12', False, 'ERR_SCHEMA_AC_VERSION_NEWER', True), ('0.9.0', False, 'ERR_SCHEMA_AC_VERSION_NEWER', True),
                         ('1.0.0', False, 'ERR_SCHEMA_AC_VERSION_NEWER', True), ('0.0.0', False, 'ERR_SCHEMA_AC_VERSION', False), ('', False, 'ERR_SCHEMA_AC_VERSION', False), ('v0.8.11', False, 'ERR_SCHEMA_AC_VERSION', False)]:
    why = ' (TYPES-005: an AC Version must name a tagged release of the spec, v0.1.1 .. v0.8.11)' if code == 'ERR_SCHEMA_AC_VERSION' and ref else ''
    T('ac-version', f'ac-version/ours-{slug(s) or "empty"}', 'TYPES-005', f'acVersion "{s}"' + (' is accepted' if ok else f' is refused ({code})') + why, {'type': 'acVersion', 'value': s}, ok, code=code, reference=ref if ref != ok else None)
T('image-id', 'image-id/ours-full', 'TYPES-006', 'a full image ID', {'type': 'imageId', 'value': FULL}, True)
T('image-id', 'image-id/ours-placeholder', 'TYPES-006', 'the spec examples\' placeholder "sha512-..." (an elided digest) is read with a warning', {'type': 'imageId', 'value': 'sha512-...'}, True, warnings=['WARN_SCHEMA_IMAGE_ID_NOT_FULL'])
for v, why in [('sha512-' + 'a' * 64, 'a 64-digit digest (the length of a SHA-256)'), ('sha512-' + 'a' * 127, '127 hex digits'), ('sha512-' + 'a' * 129, '129 hex digits'),
               ('sha512-' + 'g' * 128, '128 digits that are not hex'), ('sha512-abc', 'a short prefix (only the CLI takes prefixes)'), ('sha256-' + 'a' * 64, 'a SHA-256 ID'),
               ('SHA512-' + 'a' * 128, 'the algorithm in upper case'), ('sha512-....', 'four dots'), ('sha512-' + 'a' * 128 + '\n', 'a trailing newline'), ('', 'empty')]:
    T('image-id', f'image-id/ours-bad-{slug(why)}', 'TYPES-006', f'an image ID with {why} is refused (TYPES-006: sha512- and the hex digest; the reference checks neither hex nor length)', {'type': 'imageId', 'value': v}, False, code='ERR_SCHEMA_IMAGE_ID', reference=True if ref_hash_ok(v) else None)
T('image-id', 'image-id/ours-upper', 'TYPES-006', 'an upper-case digest is read with a warning', {'type': 'imageId', 'value': FULL.upper().replace('SHA512', 'sha512')}, True, warnings=['WARN_SCHEMA_IMAGE_ID_NOT_FULL'])
T('image-id', 'image-id/ours-three-parts', 'TYPES-006', '"sha512-a-b" splits into three parts', {'type': 'imageId', 'value': 'sha512-a-b'}, False, code='ERR_SCHEMA_IMAGE_ID')
T('isolator-object', 'isolator/ours-missing-value', 'TYPES-007', 'a known isolator without "value" (the reference crashes)', {'type': 'isolator', 'value': {'name': 'resource/memory'}}, False, code='ERR_SCHEMA_REQUIRED')
T('isolator-object', 'isolator/ours-bad-name', 'TYPES-007', 'an isolator name that is not an AC Identifier', {'type': 'isolator', 'value': {'name': 'Resource/Memory', 'value': {}}}, False, code='ERR_SCHEMA_AC_IDENTIFIER')
T('isolator-object', 'isolator/ours-ok', 'TYPES-007', 'an isolator with name and value', {'type': 'isolator', 'value': {'name': 'resource/memory', 'value': {'limit': '1G'}}}, True)
for s, ok in [('2014-10-27t19:32:27Z', False), ('2014-10-27 19:32:27Z', False), ('2014-10-27T19:32:27', False), ('2014-10-27T19:32:27+0000', False), ('2014-10-27T19:32:27.5+01:00', True), ('2014-02-30T00:00:00Z', False)]:
    T('timestamp', f'date/ours-{slug(s)}', 'TYPES-008', f'"{s}"' + (' is a date-time' if ok else ' is not an RFC 3339 date-time as the reference reads it'), {'type': 'date', 'value': s}, ok, code=None if ok else 'ERR_SCHEMA_TIMESTAMP')
T('labels', 'labels/ours-missing-value', 'TYPES-009', 'a label without value (TYPES-009: a label has two members, name and value; the reference reads it as "")', {'type': 'labels', 'value': [{'name': 'version'}]}, False, code='ERR_SCHEMA_REQUIRED', reference=True)
T('labels', 'labels/ours-empty-value', 'TYPES-009', 'a label whose value is "" (an arbitrary string)', {'type': 'labels', 'value': [{'name': 'version', 'value': ''}]}, True)
for os_ in ['constructor', '__proto__', 'toString', 'hasOwnProperty']:
    T('labels', f'labels/ours-os-{slug(os_)}', 'TYPES-010', f'os "{os_}" is no operating system (a lookup must not find JavaScript object members)', {'type': 'labels', 'value': [{'name': 'os', 'value': os_}, {'name': 'arch', 'value': 'amd64'}]}, False, code='ERR_SCHEMA_OS_ARCH')
T('labels', 'labels/ours-bad-name', 'TYPES-009', 'a label name that is not an AC Identifier', {'type': 'labels', 'value': [{'name': 'Version', 'value': '1'}]}, False, code='ERR_SCHEMA_AC_IDENTIFIER')
T('labels', 'labels/ours-arch-without-os', 'TYPES-010', 'arch without os is not checked', {'type': 'labels', 'value': [{'name': 'arch', 'value': 'pdp11'}]}, True)
T('labels', 'labels/ours-darwin-x86-64', 'TYPES-010', 'darwin/x86_64 is known', {'type': 'labels', 'value': [{'name': 'os', 'value': 'darwin'}, {'name': 'arch', 'value': 'x86_64'}]}, True)
T('labels', 'labels/ours-darwin-amd64', 'TYPES-010', 'darwin/amd64 is not in the table', {'type': 'labels', 'value': [{'name': 'os', 'value': 'darwin'}, {'name': 'arch', 'value': 'amd64'}]}, False, code='ERR_SCHEMA_OS_ARCH')
T('labels', 'labels/ours-extended-table', 'TYPES-010', 'a pair added through the osArch option is accepted', {'type': 'labels', 'value': [{'name': 'os', 'value': 'linux'}, {'name': 'arch', 'value': 'riscv64'}], 'options': {'osArch': {'linux': ['riscv64']}}}, True)
for plat, arch, extra, os_, ar in [('linux', 'x64', {}, 'linux', 'amd64'), ('darwin', 'x64', {}, 'darwin', 'x86_64'), ('linux', 'ia32', {}, 'linux', 'i386'), ('linux', 'arm64', {}, 'linux', 'aarch64'),
                                   ('linux', 'arm', {'armVersion': 7}, 'linux', 'armv7l'), ('linux', 'arm', {'armVersion': 6}, 'linux', 'armv6l'), ('linux', 'ppc64', {'endianness': 'LE'}, 'linux', 'ppc64le'),
                                   ('linux', 'ppc64', {'endianness': 'BE'}, 'linux', 'ppc64'), ('linux', 's390x', {}, 'linux', 's390x'), ('freebsd', 'arm', {}, 'freebsd', 'arm')]:
    T('host-os-arch', f'host/{plat}-{arch}-{slug(json.dumps(extra))}', 'TYPES-011', f'Node {plat}/{arch} {extra or ""} is appc {os_}/{ar}', {'type': 'hostOsArch', 'value': {'platform': plat, 'arch': arch, **extra}}, True, os=os_, arch=ar)
T('host-os-arch', 'host/win32-x64', 'TYPES-011', 'Node win32/x64 has no appc os', {'type': 'hostOsArch', 'value': {'platform': 'win32', 'arch': 'x64'}}, False, code='ERR_SCHEMA_OS_ARCH')
T('annotations', 'annotations/ours-pod-name-kind', 'TYPES-012', 'pod annotation names are AC Names: "example.com/x" is refused (TYPES-012 Divergence)', {'type': 'annotations', 'value': [{'name': 'example.com/x', 'value': 'y'}], 'nameKind': 'name'}, False, code='ERR_SCHEMA_AC_NAME', reference=True)
T('annotations', 'annotations/ours-bare-host', 'TYPES-012', 'homepage "example.com" has no scheme', {'type': 'annotations', 'value': [{'name': 'homepage', 'value': 'example.com'}]}, False, code='ERR_SCHEMA_URL')
T('annotations', 'annotations/ours-upper-scheme', 'TYPES-012', 'homepage "HTTPS://example.com" (scheme compared case-insensitively)', {'type': 'annotations', 'value': [{'name': 'homepage', 'value': 'HTTPS://example.com'}]}, True)
T('annotations', 'annotations/ours-systemd-notify', 'TYPES-012', 'supports-systemd-notify "yes" is read as false with a warning', {'type': 'annotations', 'value': [{'name': 'appc.io/executor/supports-systemd-notify', 'value': 'yes'}]}, True, warnings=['WARN_SCHEMA_ANNOTATION_VALUE'])
T('annotations', 'annotations/ours-non-string', 'TYPES-012', 'an annotation value that is a number', {'type': 'annotations', 'value': [{'name': 'authors', 'value': 1}]}, False, code='ERR_SCHEMA_TYPE')
T('user-maps', 'user-annotations/ours-valid', 'TYPES-013', 'userAnnotations with free keys and string values', {'type': 'userAnnotations', 'value': {'Any Key!': 'v', '': 'empty key'}}, True)
T('user-maps', 'user-annotations/ours-number', 'TYPES-013', 'a userLabels value that is a number', {'type': 'userLabels', 'value': {'a': 1}}, False, code='ERR_SCHEMA_TYPE')
T('user-maps', 'user-annotations/ours-list', 'TYPES-013', 'userLabels given as a list', {'type': 'userLabels', 'value': [{'name': 'a', 'value': 'b'}]}, False, code='ERR_SCHEMA_TYPE')
T('environment', 'environment/ours-missing-value', 'TYPES-014', 'a variable without value (TYPES-014: two members, name and value; the reference reads it as "")', {'type': 'environment', 'value': [{'name': 'EMPTY'}]}, False, code='ERR_SCHEMA_REQUIRED', reference=True)
T('environment', 'environment/ours-empty-value', 'TYPES-014', 'a variable whose value is ""', {'type': 'environment', 'value': [{'name': 'EMPTY', 'value': ''}]}, True)
T('uuid', 'uuid/ours-all-zero', 'TYPES-015', 'the all-zero UUID is refused', {'type': 'uuid', 'value': '00000000-0000-0000-0000-000000000000'}, False, code='ERR_SCHEMA_UUID')
T('uuid', 'uuid/ours-braces', 'TYPES-015', 'braces are refused', {'type': 'uuid', 'value': '{6733c088-a507-4694-aabf-edbe4fc5266f}'}, False, code='ERR_SCHEMA_UUID')
T('uuid', 'uuid/ours-newline', 'TYPES-015', 'a trailing newline is refused', {'type': 'uuid', 'value': '6733c088-a507-4694-aabf-edbe4fc5266f\n'}, False, code='ERR_SCHEMA_UUID')
for s, ok, extra in [('1K', True, {'bytes': '1000', 'milli': '1000000'}), ('0x10', False, {}), ('1KiB', False, {}), ('1Kb', False, {}), ('1 k', False, {}),
                     ('128974848', True, {'bytes': '128974848'}), ('125952Ki', True, {'bytes': '128974848'}), ('123Mi', True, {'bytes': '128974848'}),
                     ('1G', True, {'bytes': '1000000000'}), ('1Gi', True, {'bytes': '1073741824'}), ('1.5Gi', True, {'bytes': '1610612736'}), ('0.3', True, {'bytes': '1', 'milli': '300'}),
                     ('1e999', False, {}), ('100Pi', True, {'bytes': '112589990684262400'})]:
    T('quantity', f'quantity/ours-{slug(s)}', 'TYPES-017' if ok else 'TYPES-016', f'"{s}"' + (f' is {extra.get("bytes")} base units' if ok else ' is not a quantity') + (' (TYPES-016 Divergence: ours accepts K as 1000)' if s == '1K' else '') + (' (exponent bound: ours)' if s == '1e999' else ''),
      {'type': 'quantity', 'value': s}, ok, code=None if ok else 'ERR_SCHEMA_QUANTITY', reference=False if s == '1K' else None, **extra)
T('quantity', 'quantity/ours-json-number', 'TYPES-016', 'a bare JSON number 1.5 is 2 base units, 1500 thousandths', {'type': 'quantity', 'jsonText': '1.5'}, True, bytes='2', milli='1500')
T('quantity', 'quantity/ours-json-null', 'TYPES-016', 'null means unset', {'type': 'quantity', 'jsonText': 'null'}, True, unset=True)

# ---------------- ISO ----------------
def I(file, base, req, title, inp, valid, **kw):
    add('iso', file, uid('iso', base), req, title, inp, valid, **kw)

ISO_REQ = {'os/linux/seccomp-remove-set': 'ISO-004', 'os/linux/seccomp-retain-set': 'ISO-005', 'os/linux/selinux-context': 'ISO-008', 'os/linux/apparmor-profile': 'ISO-009',
           'os/linux/capabilities-remove-set': 'ISO-010', 'os/linux/capabilities-retain-set': 'ISO-011', 'os/linux/no-new-privileges': 'ISO-012', 'resource/cpu': 'ISO-014',
           'resource/memory': 'ISO-015', 'resource/block-bandwidth': 'ISO-016', 'resource/block-iops': 'ISO-017', 'resource/network-bandwidth': 'ISO-018', 'os/unix/sysctl': 'ISO-019',
           'os/linux/cpu-shares': 'ISO-020', 'os/linux/oom-score-adj': 'ISO-020'}
d = load('types-isolators.json'); src = 'appc/spec schema/types/isolator*_test.go'
for i, c in enumerate(d['parse']):
    why = c.get('why', 'valid')
    try:
        obj = json.loads(c['json'])
        name = obj['name']
    except Exception:
        I('isolator-values', f'parse/{i}-not-json', 'TYPES-007', f'isolator text that is not JSON: {c["json"][:50]}', {'type': 'isolator', 'jsonText': c['json']}, False, code='ERR_SCHEMA_JSON', source=src)
        continue
    warnings = None
    if 'CAP_PONIES' in c['json'] and c['valid']: warnings = ['WARN_SCHEMA_CAPABILITY_UNKNOWN']
    if 'request above limit' in why: warnings = ['WARN_SCHEMA_ISOLATOR_REQUEST_ABOVE_LIMIT']
    level = 'pod' if name == 'os/unix/sysctl' else 'app'
    I('isolator-values', f'parse/{i}-{slug(name)}-{slug(why)}', ISO_REQ[name], f'{name}: {why}', {'type': 'isolator', 'jsonText': c['json'], 'level': level}, c['valid'], code=None if c['valid'] else 'ERR_SCHEMA_ISOLATOR_VALUE', warnings=warnings, source=src)
for i, c in enumerate(d['constructed']):
    iso = c['isolator']; name = iso['name']; why = c.get('why', 'valid')
    warnings = None
    if name.startswith('os/linux/capabilities') and any(s not in ('CAP_AUDIT_READ', 'CAP_KILL', 'CAP_AUDIT_WRITE', 'CAP_SYS_ADMIN', 'CAP_CHOWN') for s in iso['value']['set']):
        warnings = ['WARN_SCHEMA_CAPABILITY_UNKNOWN']
    code = None
    req = ISO_REQ[name]
    if not c['valid']:
        code = 'ERR_SCHEMA_QUANTITY' if name == 'resource/cpu' else 'ERR_SCHEMA_ISOLATOR_VALUE'
        if 'errno must start' in why: req = 'ISO-006'
        if name == 'resource/cpu': req = 'TYPES-016'
    extra = {}
    if c['valid'] and 'request' in c and 'limit' in c and c['request'] > c['limit']: warnings = ['WARN_SCHEMA_ISOLATOR_REQUEST_ABOVE_LIMIT']
    if 'request' in c: extra['request'] = str(c['request'])
    if 'limit' in c: extra['limit'] = str(c['limit'])
    level = 'pod' if name == 'os/unix/sysctl' else 'app'
    I('isolator-values', f'constructed/{i}-{slug(name)}-{slug(why)}', req, f'{name} {json.dumps(iso["value"])}: {why}', {'type': 'isolator', 'value': iso, 'level': level}, c['valid'], code=code, warnings=warnings, source=src + f' ({c["test"]})', **extra)
lk = d['lookup']
I('isolator-lists', 'lookup/both-capability-sets', 'ISO-011', 'an app list with both capability sets (ISO-002 Divergence: ours rejects the pair)',
  {'type': 'isolators', 'value': lk['isolators'], 'level': 'app'}, False, code='ERR_SCHEMA_ISOLATOR_CONFLICT', warnings=['WARN_SCHEMA_ISOLATOR_REQUEST_ABOVE_LIMIT', 'WARN_SCHEMA_ISOLATOR_SCOPE'], reference=True, source=src)
I('isolator-lists', 'lookup/last-wins', 'ISO-002', 'the lookup list without the remove set; typed values as the reference looks them up',
  {'type': 'isolators', 'value': [x for x in lk['isolators'] if x['name'] != 'os/linux/capabilities-remove-set'], 'level': 'app'}, True,
  warnings=['WARN_SCHEMA_ISOLATOR_REQUEST_ABOVE_LIMIT', 'WARN_SCHEMA_ISOLATOR_SCOPE'], lookup=[e for e in lk['expect'] if e['name'] != 'os/linux/capabilities-remove-set'], source=src)
un = d['unrecognized']
I('isolator-lists', 'unrecognized/app-warning', 'ISO-003', 'an unknown isolator in an app list is kept and reported as a warning (ISO-003 ours; the reference app validation rejects it)',
  {'type': 'isolators', 'value': un['isolators'], 'level': 'app'}, True, warnings=['WARN_SCHEMA_ISOLATOR_UNKNOWN'], unrecognized=un['unrecognized'], reference=False, source=src)
I('isolator-lists', 'unrecognized/app-strict', 'ISO-003', 'an unknown isolator in an app list is an error in strict mode',
  {'type': 'isolators', 'value': un['isolators'], 'level': 'app', 'options': {'strict': True}}, False, code='ERR_SCHEMA_ISOLATOR_UNKNOWN', reference=False, source=src)
I('isolator-lists', 'unrecognized/pod', 'POD-006', 'an unknown isolator in a pod list is accepted (a warning)',
  {'type': 'isolators', 'value': un['isolators'], 'level': 'pod'}, True, warnings=['WARN_SCHEMA_ISOLATOR_UNKNOWN'], reference=True, source=src)

IMG = {'acKind': 'ImageManifest', 'acVersion': '0.8.11', 'name': 'example.com/app'}
APP = {'exec': ['/bin/app'], 'user': '0', 'group': '0'}
def img_with(**kw):
    m = dict(IMG); m.update(kw); return m
def app_iso(*isos):
    return img_with(app={**APP, 'isolators': list(isos)})
def M(section, file, base, req, title, manifest, valid, kind='ImageManifest', **kw):
    add(section, file, uid(section, base), req, title, {'kind': kind, 'manifest': manifest}, valid, **kw)

once = ['os/linux/seccomp-remove-set', 'os/linux/seccomp-retain-set', 'os/linux/selinux-context', 'os/linux/apparmor-profile', 'os/linux/cpu-shares', 'os/linux/oom-score-adj']
VAL = {'os/linux/seccomp-remove-set': {'set': ['reboot']}, 'os/linux/seccomp-retain-set': {'set': ['@appc.io/all']}, 'os/linux/selinux-context': {'user': 'u', 'role': 'r', 'type': 't', 'level': 's0'},
       'os/linux/apparmor-profile': {'profile': 'p'}, 'os/linux/cpu-shares': 1024, 'os/linux/oom-score-adj': 0, 'os/unix/sysctl': {'net.ipv4.ip_forward': '1'},
       'os/linux/capabilities-retain-set': {'set': ['CAP_KILL']}, 'os/linux/capabilities-remove-set': {'set': ['CAP_KILL']}, 'os/linux/no-new-privileges': True,
       'resource/memory': {'limit': '1G'}, 'resource/cpu': {'limit': '500m'}}
for n in once:
    M('iso', 'multiplicity', f'once/{slug(n)}', 'ISO-002', f'two "{n}" in one app', app_iso({'name': n, 'value': VAL[n]}, {'name': n, 'value': VAL[n]}), False, code='ERR_SCHEMA_ISOLATOR_MULTIPLE')
for n in ['os/linux/capabilities-retain-set', 'os/linux/no-new-privileges', 'resource/memory', 'resource/cpu']:
    M('iso', 'multiplicity', f'repeat/{slug(n)}', 'ISO-002', f'"{n}" may repeat in one app', app_iso({'name': n, 'value': VAL[n]}, {'name': n, 'value': VAL[n]}), True)
M('iso', 'multiplicity', 'conflict/seccomp', 'ISO-002', 'the two seccomp sets in one app are incompatible', app_iso({'name': 'os/linux/seccomp-remove-set', 'value': VAL['os/linux/seccomp-remove-set']}, {'name': 'os/linux/seccomp-retain-set', 'value': VAL['os/linux/seccomp-retain-set']}), False, code='ERR_SCHEMA_ISOLATOR_CONFLICT')
M('iso', 'multiplicity', 'conflict/capabilities', 'ISO-011', 'capabilities retain and remove sets in one app (ISO-002 Divergence: the spec forbids the pair)', app_iso({'name': 'os/linux/capabilities-retain-set', 'value': {'set': ['CAP_KILL']}}, {'name': 'os/linux/capabilities-remove-set', 'value': {'set': ['CAP_CHOWN']}}), False, code='ERR_SCHEMA_ISOLATOR_CONFLICT', reference=True)
M('iso', 'multiplicity', 'unknown/app', 'ISO-003', 'an image whose app has an unknown isolator is valid with a warning (ISO-003 ours)', app_iso({'name': 'example.com/ponies', 'value': 1}), True, warnings=['WARN_SCHEMA_ISOLATOR_UNKNOWN'], reference=False)
POD = {'acVersion': '0.8.11', 'acKind': 'PodManifest', 'apps': []}
M('iso', 'pod-level', 'pod/one-memory-bound', 'ISO-001', 'pod and app memory limits together (the app gets the smaller one at run time)',
  {**POD, 'apps': [{'name': 'a', 'image': {'id': FULL}, 'app': {**APP, 'isolators': [{'name': 'resource/memory', 'value': {'limit': '2G'}}]}}], 'isolators': [{'name': 'resource/memory', 'value': {'limit': '1G'}}]}, True, kind='PodManifest')
M('iso', 'pod-level', 'pod/no-multiplicity', 'ISO-008', 'two selinux contexts at pod level (ISO-008: only one per pod; the reference does not check pod lists)',
  {**POD, 'isolators': [{'name': 'os/linux/selinux-context', 'value': VAL['os/linux/selinux-context']}] * 2}, False, kind='PodManifest', code='ERR_SCHEMA_ISOLATOR_MULTIPLE', reference=True)
M('iso', 'pod-level', 'pod/bad-value', 'POD-006', 'pod-level isolator values are checked', {**POD, 'isolators': [{'name': 'resource/memory', 'value': {'limit': 'lots'}}]}, False, kind='PodManifest', code='ERR_SCHEMA_QUANTITY')
M('iso', 'pod-level', 'pod/sysctl', 'ISO-019', 'sysctl at pod level', {**POD, 'isolators': [{'name': 'os/unix/sysctl', 'value': {'net.ipv4.ip_forward': '1'}}]}, True, kind='PodManifest')
M('iso', 'pod-level', 'pod/sysctl-non-string', 'ISO-019', 'sysctl values must be strings', {**POD, 'isolators': [{'name': 'os/unix/sysctl', 'value': {'net.ipv4.ip_forward': 1}}]}, False, kind='PodManifest', code='ERR_SCHEMA_ISOLATOR_VALUE')
M('iso', 'pod-level', 'pod/seccomp-scope', 'ISO-004', 'a seccomp set at pod level is ignored with a warning', {**POD, 'isolators': [{'name': 'os/linux/seccomp-remove-set', 'value': {'set': ['reboot']}}]}, True, kind='PodManifest', warnings=['WARN_SCHEMA_ISOLATOR_SCOPE'])
def iso_case(file, base, req, name, value, valid, code=None, warnings=None, title=None, level='app'):
    I(file, base, req, title or f'{name} {json.dumps(value)}', {'type': 'isolator', 'value': {'name': name, 'value': value}, 'level': level}, valid, code=code, warnings=warnings)
iso_case('ours', 'seccomp/empty-wildcard', 'ISO-004', 'os/linux/seccomp-remove-set', {'set': ['@appc.io/empty', 'reboot']}, True)
iso_case('ours', 'seccomp/not-object', 'ISO-004', 'os/linux/seccomp-remove-set', ['reboot'], False, 'ERR_SCHEMA_ISOLATOR_VALUE')
iso_case('ours', 'seccomp/retain-all', 'ISO-005', 'os/linux/seccomp-retain-set', {'set': ['@appc.io/all']}, True)
iso_case('ours', 'seccomp/retain-empty', 'ISO-005', 'os/linux/seccomp-retain-set', {'set': []}, False, 'ERR_SCHEMA_ISOLATOR_VALUE')
iso_case('ours', 'errno/eperm', 'ISO-006', 'os/linux/seccomp-remove-set', {'set': ['reboot'], 'errno': 'EPERM'}, True)
iso_case('ours', 'errno/lower', 'ISO-006', 'os/linux/seccomp-remove-set', {'set': ['reboot'], 'errno': 'eperm'}, False, 'ERR_SCHEMA_ISOLATOR_VALUE')
I('ours', 'default-filter/no-seccomp', 'ISO-007', 'an app with no seccomp isolator (the implementation applies its own filter)', {'type': 'app', 'value': APP}, True)
iso_case('ours', 'default-filter/rkt-wildcard', 'ISO-007', 'os/linux/seccomp-retain-set', {'set': ['@rkt/default-whitelist']}, True, title='a retain set naming the rkt wildcard @rkt/default-whitelist')
iso_case('ours', 'selinux/level-colon', 'ISO-008', 'os/linux/selinux-context', {'user': 'u', 'role': 'r', 'type': 't', 'level': 's0-s0:c0.c1023'}, True)
iso_case('ours', 'selinux/missing-type', 'ISO-008', 'os/linux/selinux-context', {'user': 'u', 'role': 'r', 'level': 's0'}, False, 'ERR_SCHEMA_ISOLATOR_VALUE')
iso_case('ours', 'apparmor/pod', 'ISO-009', 'os/linux/apparmor-profile', {'profile': 'docker-default'}, True, level='pod')
iso_case('ours', 'apparmor/missing', 'ISO-009', 'os/linux/apparmor-profile', {}, False, 'ERR_SCHEMA_ISOLATOR_VALUE')
iso_case('ours', 'caps-remove/default-member', 'ISO-010', 'os/linux/capabilities-remove-set', {'set': ['CAP_NET_RAW']}, True)
iso_case('ours', 'caps-remove/not-list', 'ISO-010', 'os/linux/capabilities-remove-set', {'set': 'CAP_NET_RAW'}, False, 'ERR_SCHEMA_ISOLATOR_VALUE')
iso_case('ours', 'caps-retain/outside-default', 'ISO-011', 'os/linux/capabilities-retain-set', {'set': ['CAP_SYS_ADMIN']}, True)
iso_case('ours', 'nnp/string', 'ISO-012', 'os/linux/no-new-privileges', 'true', False, 'ERR_SCHEMA_ISOLATOR_VALUE')
iso_case('ours', 'nnp/true', 'ISO-012', 'os/linux/no-new-privileges', True, True)
iso_case('ours', 'resource/request-above-limit', 'ISO-013', 'resource/memory', {'request': '2G', 'limit': '1G'}, True, warnings=['WARN_SCHEMA_ISOLATOR_REQUEST_ABOVE_LIMIT'])
iso_case('ours', 'resource/negative', 'ISO-013', 'resource/memory', {'limit': '-1G'}, False, 'ERR_SCHEMA_ISOLATOR_VALUE', title='a negative memory limit (TYPES-017 ours: isolators reject negatives)')
iso_case('ours', 'resource/no-limit', 'ISO-013', 'resource/memory', {'request': '1G'}, True, title='a request without limit is accepted')
iso_case('ours', 'resource/not-object', 'ISO-013', 'resource/memory', '1G', False, 'ERR_SCHEMA_ISOLATOR_VALUE')
iso_case('ours', 'cpu/number', 'ISO-014', 'resource/cpu', {'limit': 2}, True)
iso_case('ours', 'cpu/default-true', 'ISO-014', 'resource/cpu', {'default': True, 'limit': '1'}, False, 'ERR_SCHEMA_ISOLATOR_VALUE')
iso_case('ours', 'memory/default-false', 'ISO-015', 'resource/memory', {'default': False, 'limit': '1Gi'}, True)
iso_case('ours', 'memory/bad-quantity', 'ISO-015', 'resource/memory', {'limit': '1GB'}, False, 'ERR_SCHEMA_QUANTITY')
iso_case('ours', 'block-bandwidth/default-missing', 'ISO-016', 'resource/block-bandwidth', {'limit': '10M'}, False, 'ERR_SCHEMA_ISOLATOR_VALUE')
iso_case('ours', 'block-iops/ok', 'ISO-017', 'resource/block-iops', {'default': True, 'limit': 1000}, True)
iso_case('ours', 'network-bandwidth/pod', 'ISO-018', 'resource/network-bandwidth', {'default': True, 'limit': '10M'}, True, level='pod')
iso_case('ours', 'sysctl/empty', 'ISO-019', 'os/unix/sysctl', {}, True, level='pod')
iso_case('ours', 'sysctl/in-app', 'ISO-019', 'os/unix/sysctl', {'kernel.shmmax': '1'}, True, warnings=['WARN_SCHEMA_ISOLATOR_SCOPE'], title='sysctl in an app list is accepted with a warning (pod only per spec)')
iso_case('ours', 'sysctl/list', 'ISO-019', 'os/unix/sysctl', ['net.ipv4.ip_forward=1'], False, 'ERR_SCHEMA_ISOLATOR_VALUE', level='pod')
for v, ok in [(2, True), (262144, True), (262145, False), (2.5, False)]:
    iso_case('ours', f'cpu-shares/{slug(str(v))}', 'ISO-020', 'os/linux/cpu-shares', v, ok, None if ok else 'ERR_SCHEMA_ISOLATOR_VALUE')
for v, ok in [(-1000, True), (1000, True), (1001, False), ('0', False)]:
    iso_case('ours', f'oom-score-adj/{slug(str(v))}', 'ISO-020', 'os/linux/oom-score-adj', v, ok, None if ok else 'ERR_SCHEMA_ISOLATOR_VALUE')

# ---------------- IMG ----------------
d = load('image-manifest.json'); src = 'appc/spec schema/image_test.go'
M('img', 'reference', 'minimal', 'IMG-005', 'minimal manifest without app', d['cases'][0]['manifest'], True, source=src)
M('img', 'reference', 'missing-kind-and-version', 'IMG-001', 'acKind and acVersion missing', d['cases'][1]['manifest'], False, code='ERR_SCHEMA_REQUIRED', source=src)
M('img', 'reference', 'spec-example', 'IMG-004', 'the spec example image manifest (its dependency imageID "sha512-..." gives a warning)', load('image.json'), True, warnings=['WARN_SCHEMA_IMAGE_ID_NOT_FULL'], source='appc/spec examples/image.json')
# lenient reader (IMG-021)
d = load('lastditch.json'); src = 'appc/spec schema/lastditch/*_test.go'
for i, c in enumerate(d['image']):
    add('img', 'lastditch', f'img/lastditch-image-{i}', 'IMG-021', f'lenient reading: {c["desc"]}', {'type': 'lenientImageManifest', 'jsonText': c['json']}, True, output=c['expected'], strictValid=c['strictValid'], source=src)
for i, c in enumerate(d['pod']):
    add('img', 'lastditch', f'img/lastditch-pod-{i}', 'IMG-021', f'lenient reading: {c["desc"]}', {'type': 'lenientPodManifest', 'jsonText': c['json']}, True, output=c['expected'], strictValid=c['strictValid'], source=src)
for i, t in enumerate(d['bogusImage']):
    add('img', 'lastditch', f'img/lastditch-bogus-image-{i}', 'IMG-021', 'lenient reading refuses text that is not JSON or has the wrong acKind', {'type': 'lenientImageManifest', 'jsonText': t}, False, code='ERR_SCHEMA_JSON', source=src)
for i, t in enumerate(d['bogusPod']):
    add('img', 'lastditch', f'img/lastditch-bogus-pod-{i}', 'IMG-021', 'lenient reading refuses text that is not JSON or has the wrong acKind', {'type': 'lenientPodManifest', 'jsonText': t}, False, code='ERR_SCHEMA_JSON', source=src)
add('img', 'lastditch', 'img/lastditch-wrong-kind', 'IMG-021', 'lenient reading of a pod manifest as an image manifest', {'type': 'lenientImageManifest', 'jsonText': '{"acKind":"PodManifest","acVersion":"0.8.11"}'}, False, code='ERR_SCHEMA_AC_KIND')

def IM(file, base, req, title, manifest, valid, **kw):
    M('img', file, base, req, title, manifest, valid, **kw)
IM('ours', 'kind/pod', 'IMG-001', 'acKind PodManifest read as an image manifest', img_with(acKind='PodManifest'), False, code='ERR_SCHEMA_AC_KIND_MISMATCH')
IM('ours', 'kind/lower', 'IMG-001', 'acKind "imagemanifest" (case-sensitive)', img_with(acKind='imagemanifest'), False, code='ERR_SCHEMA_AC_KIND')
IM('ours', 'version/missing', 'IMG-002', 'acVersion missing', {k: v for k, v in IMG.items() if k != 'acVersion'}, False, code='ERR_SCHEMA_REQUIRED')
IM('ours', 'version/newer', 'IMG-002', 'acVersion 0.9.0 is newer than 0.8.11 (TYPES-005: MUST NOT; the reference accepts it)', img_with(acVersion='0.9.0'), False, code='ERR_SCHEMA_AC_VERSION_NEWER', reference=True)
IM('ours', 'version/major', 'TYPES-005', 'acVersion 1.0.0 has another major (the reference accepts it)', img_with(acVersion='1.0.0'), False, code='ERR_SCHEMA_AC_VERSION_NEWER', reference=True)
IM('ours', 'version/older', 'TYPES-005', 'acVersion 0.5.0 is older, same major', img_with(acVersion='0.5.0'), True)
IM('ours', 'version/number', 'TYPES-005', 'acVersion as a number', img_with(acVersion=0.8), False, code='ERR_SCHEMA_TYPE')
IM('ours', 'name/missing', 'IMG-003', 'name missing', {k: v for k, v in IMG.items() if k != 'name'}, False, code='ERR_SCHEMA_REQUIRED')
IM('ours', 'name/upper', 'IMG-003', 'name with upper case', img_with(name='Example.com/App'), False, code='ERR_SCHEMA_AC_IDENTIFIER')
IM('ours', 'name/run', 'IMG-003', 'name "example.com//app" (TYPES-001 Divergence)', img_with(name='example.com//app'), False, code='ERR_SCHEMA_AC_IDENTIFIER', reference=True)
IM('ours', 'labels/os-arch', 'IMG-004', 'labels version, os linux, arch amd64', img_with(labels=[{'name': 'version', 'value': '1.0'}, {'name': 'os', 'value': 'linux'}, {'name': 'arch', 'value': 'amd64'}]), True)
IM('ours', 'labels/bad-arch', 'IMG-004', 'arch x86_64 for linux', img_with(labels=[{'name': 'os', 'value': 'linux'}, {'name': 'arch', 'value': 'x86_64'}]), False, code='ERR_SCHEMA_OS_ARCH')
IM('ours', 'labels/not-list', 'IMG-004', 'labels given as an object', img_with(labels={'os': 'linux'}), False, code='ERR_SCHEMA_TYPE')
IM('ours', 'app/null', 'IMG-005', 'app null is the same as absent', img_with(app=None), True)
IM('ours', 'app/string', 'IMG-005', 'app as a string', img_with(app='run'), False, code='ERR_SCHEMA_TYPE')
IM('ours', 'app/unknown-member', 'IMG-019', 'unknown members of app are ignored', img_with(app={**APP, 'futureField': {'x': 1}}), True)
IM('ours', 'exec/empty', 'IMG-006', 'exec [] passes (it fails at start time)', img_with(app={**APP, 'exec': []}), True)
IM('ours', 'exec/number', 'IMG-006', 'exec with a number', img_with(app={**APP, 'exec': ['/bin/a', 1]}), False, code='ERR_SCHEMA_TYPE')
IM('ours', 'user/empty', 'IMG-007', 'user ""', img_with(app={**APP, 'user': ''}), False, code='ERR_SCHEMA_EMPTY')
IM('ours', 'group/missing', 'IMG-007', 'group missing', img_with(app={'exec': ['/a'], 'user': '0'}), False, code='ERR_SCHEMA_REQUIRED')
IM('ours', 'gids/spec', 'IMG-008', 'supplementaryGIDs [10, 20]', img_with(app={**APP, 'supplementaryGIDs': [10, 20]}), True)
IM('ours', 'gids/example-spelling', 'IMG-008', 'supplementaryGids (the spec example spelling) is read too', img_with(app={**APP, 'supplementaryGids': [10]}), True)
IM('ours', 'gids/negative', 'IMG-008', 'a negative supplementary GID (IMG-008 ours; the reference accepts it)', img_with(app={**APP, 'supplementaryGIDs': [-1]}), False, code='ERR_SCHEMA_RANGE', reference=True)
IM('ours', 'handlers/ok', 'IMG-009', 'pre-start and post-stop handlers with exec', img_with(app={**APP, 'eventHandlers': [{'name': 'pre-start', 'exec': ['/a']}, {'name': 'post-stop', 'exec': ['/b']}]}), True)
IM('ours', 'handlers/bad-name', 'IMG-009', 'a handler named "pre-stop"', img_with(app={**APP, 'eventHandlers': [{'name': 'pre-stop', 'exec': ['/a']}]}), False, code='ERR_SCHEMA_EVENT_HANDLER')
IM('ours', 'handlers/no-exec', 'IMG-009', 'a handler without exec (IMG-009 ours)', img_with(app={**APP, 'eventHandlers': [{'name': 'pre-start'}]}), False, code='ERR_SCHEMA_EVENT_HANDLER', reference=True)
IM('ours', 'wd/dotdot', 'IMG-010', 'workingDirectory "/a/../b" passes (a leading / suffices)', img_with(app={**APP, 'workingDirectory': '/a/../b'}), True)
IM('ours', 'wd/relative', 'IMG-010', 'workingDirectory "opt"', img_with(app={**APP, 'workingDirectory': 'opt'}), False, code='ERR_SCHEMA_PATH_NOT_ABSOLUTE')
IM('ours', 'env/ok', 'IMG-011', 'environment with two variables', img_with(app={**APP, 'environment': [{'name': 'A', 'value': '1'}, {'name': 'B', 'value': '$A'}]}), True)
IM('ours', 'env/dup', 'IMG-011', 'environment repeats a name', img_with(app={**APP, 'environment': [{'name': 'A', 'value': '1'}, {'name': 'A', 'value': '2'}]}), False, code='ERR_SCHEMA_DUPLICATE_NAME')
IM('ours', 'isolators/ok', 'IMG-012', 'app isolators memory and cpu', app_iso({'name': 'resource/memory', 'value': {'limit': '1G'}}, {'name': 'resource/cpu', 'value': {'request': '250m', 'limit': '1'}}), True)
IM('ours', 'isolators/bad', 'IMG-012', 'an app isolator with a bad value', app_iso({'name': 'os/linux/no-new-privileges', 'value': 'yes'}), False, code='ERR_SCHEMA_ISOLATOR_VALUE')
IM('ours', 'mount-points/ok', 'IMG-013', 'a mount point', img_with(app={**APP, 'mountPoints': [{'name': 'data', 'path': '/data', 'readOnly': True}]}), True)
IM('ours', 'mount-points/relative', 'IMG-013', 'a relative mount point path (IMG-013 ours; the reference accepts it)', img_with(app={**APP, 'mountPoints': [{'name': 'data', 'path': 'data'}]}), False, code='ERR_SCHEMA_PATH_NOT_ABSOLUTE', reference=True)
IM('ours', 'mount-points/missing-path', 'IMG-013', 'a mount point without path (IMG-013 ours)', img_with(app={**APP, 'mountPoints': [{'name': 'data'}]}), False, code='ERR_SCHEMA_REQUIRED', reference=True)
IM('ours', 'mount-points/dup', 'IMG-013', 'two mount points with one name: a warning (SHOULD be unique)', img_with(app={**APP, 'mountPoints': [{'name': 'd', 'path': '/a'}, {'name': 'd', 'path': '/b'}]}), True, warnings=['WARN_SCHEMA_MOUNT_POINT_DUPLICATE'])
IM('ours', 'mount-points/bad-name', 'IMG-013', 'a mount point name with a dot', img_with(app={**APP, 'mountPoints': [{'name': 'd.b', 'path': '/a'}]}), False, code='ERR_SCHEMA_AC_NAME')
IM('ours', 'ports/ok', 'IMG-014', 'ports http and a socket-activated range', img_with(app={**APP, 'ports': [{'name': 'http', 'protocol': 'tcp', 'port': 80}, {'name': 'range', 'protocol': 'udp', 'port': 6000, 'count': 10, 'socketActivated': True}]}), True)
IM('ours', 'ports/zero', 'IMG-014', 'port 0', img_with(app={**APP, 'ports': [{'name': 'p', 'protocol': 'tcp', 'port': 0}]}), False, code='ERR_SCHEMA_PORT')
IM('ours', 'ports/count-zero', 'IMG-014', 'count 0 (IMG-014: count >= 1; the reference reads 0 as unset)', img_with(app={**APP, 'ports': [{'name': 'p', 'protocol': 'tcp', 'port': 80, 'count': 0}]}), False, code='ERR_SCHEMA_PORT', reference=True)
IM('ours', 'ports/no-protocol', 'IMG-014', 'a port without protocol (required by the spec; the reference accepts it)', img_with(app={**APP, 'ports': [{'name': 'p', 'port': 80}]}), False, code='ERR_SCHEMA_REQUIRED', reference=True)
IM('ours', 'ports/dup', 'IMG-014', 'two ports with one name', img_with(app={**APP, 'ports': [{'name': 'p', 'protocol': 'tcp', 'port': 80}, {'name': 'p', 'protocol': 'udp', 'port': 81}]}), False, code='ERR_SCHEMA_DUPLICATE_NAME', reference=True)
IM('ours', 'user-maps/ok', 'IMG-015', 'app userAnnotations and userLabels', img_with(app={**APP, 'userAnnotations': {'a': 'b'}, 'userLabels': {'c': 'd'}}), True)
IM('ours', 'user-maps/bad', 'IMG-015', 'app userLabels with a boolean value', img_with(app={**APP, 'userLabels': {'c': True}}), False, code='ERR_SCHEMA_TYPE')
IM('ours', 'whitelist/ok', 'IMG-016', 'pathWhitelist of absolute paths', img_with(pathWhitelist=['/bin/sh', '/etc/']), True)
IM('ours', 'whitelist/empty', 'IMG-016', 'an empty pathWhitelist means absent', img_with(pathWhitelist=[]), True)
IM('ours', 'whitelist/relative', 'IMG-016', 'a relative pathWhitelist entry (the reference accepts it)', img_with(pathWhitelist=['bin/sh']), False, code='ERR_SCHEMA_PATH_NOT_ABSOLUTE', reference=True)
IM('ours', 'deps/full', 'IMG-017', 'a dependency with every member', img_with(dependencies=[{'imageName': 'example.com/base', 'imageID': FULL, 'labels': [{'name': 'version', 'value': '1'}], 'size': 1024}]), True)
IM('ours', 'deps/no-name', 'IMG-017', 'a dependency without imageName', img_with(dependencies=[{'imageID': FULL}]), False, code='ERR_SCHEMA_REQUIRED')
IM('ours', 'deps/negative-size', 'IMG-017', 'a dependency with size -1', img_with(dependencies=[{'imageName': 'example.com/base', 'size': -1}]), False, code='ERR_SCHEMA_RANGE')
IM('ours', 'deps/bad-id', 'IMG-017', 'a dependency imageID "sha256-abc"', img_with(dependencies=[{'imageName': 'example.com/base', 'imageID': 'sha256-abc'}]), False, code='ERR_SCHEMA_IMAGE_ID')
IM('ours', 'annotations/ok', 'IMG-018', 'image annotations created, authors, homepage', img_with(annotations=[{'name': 'created', 'value': '2016-01-01T00:00:00Z'}, {'name': 'authors', 'value': 'me'}, {'name': 'homepage', 'value': 'https://example.com'}]), True)
IM('ours', 'annotations/bad-created', 'IMG-018', 'annotation created "yesterday"', img_with(annotations=[{'name': 'created', 'value': 'yesterday'}]), False, code='ERR_SCHEMA_TIMESTAMP')
IM('ours', 'unknown-members', 'IMG-019', 'unknown top-level members are ignored', img_with(futureField=[1, 2, 3]), True)
add('img', 'ours', 'img/json/not-json', 'IMG-019', 'manifest text that is not JSON', {'kind': 'ImageManifest', 'json': '{"acKind": "ImageManifest",'}, False, code='ERR_SCHEMA_JSON')
add('img', 'ours', 'img/json/array', 'IMG-019', 'a manifest that is a JSON array', {'kind': 'ImageManifest', 'json': '[]'}, False, code='ERR_SCHEMA_TYPE')
add('img', 'ours', 'img/json/duplicate-member', 'IMG-019', 'a member name given twice (ours: ambiguous, refused; the reference keeps the last)', {'kind': 'ImageManifest', 'json': '{"acKind":"ImageManifest","acVersion":"0.8.11","name":"a","name":"b"}'}, False, code='ERR_SCHEMA_JSON', reference=True)
add('img', 'ours', 'img/json/deep', 'IMG-019', 'an unknown member nested 100 levels deep is valid JSON, ignored (IMG-019)', {'kind': 'ImageManifest', 'json': '{"acKind":"ImageManifest","acVersion":"0.8.11","name":"a","x":' + '[' * 100 + ']' * 100 + '}'}, True)
add('img', 'ours', 'img/json/deeper', 'IMG-019', 'JSON nested 600 levels deep (ours: bounded at 512 so that no later step runs out of stack; the reference stops at 10000)', {'kind': 'ImageManifest', 'json': '{"acKind":"ImageManifest","acVersion":"0.8.11","name":"a","x":' + '[' * 600 + ']' * 600 + '}'}, False, code='ERR_SCHEMA_JSON', reference=True)
add('img', 'ours', 'img/json/deep-20k', 'IMG-019', 'JSON nested 20000 levels deep is refused with a clear error, no crash (the reference stops at 10000 too)', {'kind': 'ImageManifest', 'json': '{"acKind":"ImageManifest","acVersion":"0.8.11","name":"a","x":' + '[' * 20000 + ']' * 20000 + '}'}, False, code='ERR_SCHEMA_JSON')
add('img', 'ours', 'img/json/ok', 'IMG-019', 'manifest text with spaces and newlines', {'kind': 'ImageManifest', 'json': '{\n  "acKind": "ImageManifest",\n  "acVersion": "0.8.11",\n  "name": "example.com/app"\n}\n'}, True)
IM('ours', 'case/capitalised', 'IMG-020', 'top-level members spelled ACKind/ACVersion/Name are not read (the reference reads them)', {'ACKind': 'ImageManifest', 'ACVersion': '0.8.11', 'Name': 'example.com/app'}, False, codes=['ERR_SCHEMA_REQUIRED'], warnings=['WARN_SCHEMA_MEMBER_CASE'], reference=True)
IM('ours', 'case/exec', 'IMG-020', '"Exec" in app is not read (a warning); the app has no exec', img_with(app={'Exec': ['/a'], 'user': '0', 'group': '0'}), True, warnings=['WARN_SCHEMA_MEMBER_CASE'])

# ---------------- POD ----------------
d = load('pod-manifest.json'); src = 'appc/spec schema/pod_test.go'
for i, c in enumerate(d['cases']):
    why = c['why']
    code = 'ERR_SCHEMA_REQUIRED' if 'missing' in why else (None if c['valid'] else 'ERR_SCHEMA_DUPLICATE_NAME')
    req = 'POD-002' if 'missing' in why else ('POD-005' if 'volume' in why else 'POD-003')
    M('pod', 'reference', f'ref-{i}-{slug(why)}', req, f'pod manifest: {why}', c['manifest'], c['valid'], kind='PodManifest', code=code, codes=['ERR_SCHEMA_REQUIRED'] if 'missing' in why else None, source=src)
M('pod', 'reference', 'spec-runtime-example', 'POD-003', 'the spec example of a reified pod manifest', load('pod_runtime.json'), True, kind='PodManifest', source='appc/spec examples/pod_runtime.json')
M('pod', 'reference', 'spec-template-example', 'POD-011', 'the spec example pod template: apps without image id are not runnable (POD-003/POD-011; the reference accepts it)', load('pod_template.json'), False, kind='PodManifest', code='ERR_SCHEMA_REQUIRED', reference=True, source='appc/spec examples/pod_template.json')
add('pod', 'reference', 'pod/spec-template-as-template', 'POD-010', 'the spec example pod template judged as a template', {'type': 'podTemplate', 'value': load('pod_template.json')}, True, source='appc/spec examples/pod_template.json')
def PM(file, base, req, title, manifest, valid, **kw):
    M('pod', file, base, req, title, manifest, valid, kind='PodManifest', **kw)
def pod_with(**kw):
    m = dict(POD); m.update(kw); return m
A = {'name': 'a', 'image': {'id': FULL}}
PM('ours', 'kind/image', 'POD-001', 'acKind ImageManifest read as a pod manifest', pod_with(acKind='ImageManifest'), False, code='ERR_SCHEMA_AC_KIND_MISMATCH')
PM('ours', 'kind/missing', 'POD-001', 'acKind missing', {'acVersion': '0.8.11', 'apps': []}, False, code='ERR_SCHEMA_REQUIRED')
PM('ours', 'version/missing', 'POD-002', 'acVersion missing (POD-002 Divergence: the reference does not check it)', {'acKind': 'PodManifest', 'apps': []}, False, code='ERR_SCHEMA_REQUIRED', reference=True)
PM('ours', 'version/newer', 'POD-002', 'acVersion 0.9.1 is newer than 0.8.11', pod_with(acVersion='0.9.1'), False, code='ERR_SCHEMA_AC_VERSION_NEWER', reference=True)
PM('ours', 'apps/missing', 'POD-003', 'apps missing (POD-003 Divergence)', {'acVersion': '0.8.11', 'acKind': 'PodManifest'}, False, code='ERR_SCHEMA_REQUIRED', reference=True)
PM('ours', 'apps/no-name', 'POD-003', 'an app without name (POD-003 Divergence)', pod_with(apps=[{'image': {'id': FULL}}]), False, code='ERR_SCHEMA_REQUIRED', reference=True)
PM('ours', 'apps/bad-name', 'POD-003', 'an app name with a slash', pod_with(apps=[{'name': 'a/b', 'image': {'id': FULL}}]), False, code='ERR_SCHEMA_AC_NAME')
PM('ours', 'apps/no-image', 'POD-003', 'an app without image', pod_with(apps=[{'name': 'a'}]), False, code='ERR_SCHEMA_REQUIRED')
PM('ours', 'apps/app-override', 'POD-003', 'an app that overrides the image app', pod_with(apps=[{**A, 'app': APP, 'readOnlyRootFS': True}]), True)
PM('ours', 'apps/app-override-no-user', 'POD-003', 'an app override without user and group', pod_with(apps=[{**A, 'app': {'exec': ['/a']}}]), False, code='ERR_SCHEMA_REQUIRED')
PM('ours', 'apps/image-name-labels', 'POD-003', 'image with id, name and labels', pod_with(apps=[{'name': 'a', 'image': {'id': FULL, 'name': 'example.com/a', 'labels': [{'name': 'version', 'value': '1'}]}}]), True)
PM('ours', 'apps/annotations-ok', 'POD-003', 'pod app annotations with AC Names', pod_with(apps=[{**A, 'annotations': [{'name': 'role', 'value': 'x'}]}]), True)
PM('ours', 'mounts/ok', 'POD-004', 'a mount of a declared volume', pod_with(apps=[{**A, 'mounts': [{'volume': 'data', 'path': '/data'}]}], volumes=[{'name': 'data', 'kind': 'empty'}]), True)
PM('ours', 'mounts/app-volume', 'POD-004', 'a mount with its own appVolume', pod_with(apps=[{**A, 'mounts': [{'volume': 'data', 'path': '/data', 'appVolume': {'name': 'data', 'kind': 'host', 'source': '/srv'}}]}]), True)
PM('ours', 'mounts/no-volume', 'POD-004', 'a mount without volume (the reference accepts it)', pod_with(apps=[{**A, 'mounts': [{'path': '/data'}]}]), False, code='ERR_SCHEMA_REQUIRED', reference=True)
PM('ours', 'volumes/host-relative', 'POD-005', 'a host volume with a relative source', pod_with(volumes=[{'name': 'v', 'kind': 'host', 'source': 'srv'}]), False, code='ERR_SCHEMA_PATH_NOT_ABSOLUTE')
PM('ours', 'volumes/host-no-source', 'POD-005', 'a host volume without source', pod_with(volumes=[{'name': 'v', 'kind': 'host'}]), False, code='ERR_SCHEMA_REQUIRED')
PM('ours', 'volumes/bad-kind', 'POD-005', 'a volume of kind "tmpfs"', pod_with(volumes=[{'name': 'v', 'kind': 'tmpfs'}]), False, code='ERR_SCHEMA_VOLUME_KIND')
PM('ours', 'volumes/host-with-mode', 'POD-005', 'a host volume with mode: ignored with a warning as the spec says (the reference rejects it)', pod_with(volumes=[{'name': 'v', 'kind': 'host', 'source': '/srv', 'mode': '0700'}]), True, warnings=['WARN_SCHEMA_VOLUME_MEMBER_IGNORED'], reference=False)
PM('ours', 'volumes/empty-with-source', 'POD-005', 'an empty volume with source: ignored with a warning (the reference rejects it)', pod_with(volumes=[{'name': 'v', 'kind': 'empty', 'source': '/srv'}]), True, warnings=['WARN_SCHEMA_VOLUME_MEMBER_IGNORED'], reference=False)
PM('ours', 'volumes/empty-full', 'POD-005', 'an empty volume with mode, uid, gid', pod_with(volumes=[{'name': 'v', 'kind': 'empty', 'mode': '0700', 'uid': 1000, 'gid': 1000, 'readOnly': False}]), True)
PM('ours', 'volumes/negative-uid', 'POD-005', 'an empty volume with uid -1', pod_with(volumes=[{'name': 'v', 'kind': 'empty', 'uid': -1}]), False, code='ERR_SCHEMA_RANGE')
PM('ours', 'isolators/ok', 'POD-006', 'pod isolators memory and cpu', pod_with(isolators=[{'name': 'resource/memory', 'value': {'limit': '4G'}}, {'name': 'resource/cpu', 'value': {'limit': '2'}}]), True)
PM('ours', 'isolators/not-list', 'POD-006', 'pod isolators given as an object', pod_with(isolators={'resource/memory': {'limit': '4G'}}), False, code='ERR_SCHEMA_TYPE')
PM('ours', 'annotations/ok', 'POD-007', 'pod annotations with AC Names', pod_with(annotations=[{'name': 'ip-address', 'value': '10.1.2.3'}]), True)
PM('ours', 'annotations/identifier', 'POD-007', 'a pod annotation named "example.com/x" (TYPES-012 Divergence: AC Names at pod level)', pod_with(annotations=[{'name': 'example.com/x', 'value': 'y'}]), False, code='ERR_SCHEMA_AC_NAME', reference=True)
PM('ours', 'annotations/dup', 'POD-007', 'two pod annotations with one name', pod_with(annotations=[{'name': 'a', 'value': '1'}, {'name': 'a', 'value': '2'}]), False, code='ERR_SCHEMA_DUPLICATE_NAME')
PM('ours', 'ports/ok', 'POD-008', 'an exposed port with hostIP', pod_with(apps=[A], ports=[{'name': 'http', 'hostPort': 8080, 'hostIP': '127.0.0.1'}]), True)
PM('ours', 'ports/ipv6', 'POD-008', 'an exposed port on an IPv6 address (POD-008: hostIP is an IPv4 address in dotted-quad notation; the reference accepts any IP)', pod_with(apps=[A], ports=[{'name': 'http', 'hostPort': 8080, 'hostIP': '::1'}]), False, code='ERR_SCHEMA_IP', reference=True)
PM('ours', 'ports/bad-ip', 'POD-008', 'hostIP "localhost"', pod_with(apps=[A], ports=[{'name': 'http', 'hostPort': 8080, 'hostIP': 'localhost'}]), False, code='ERR_SCHEMA_IP')
PM('ours', 'ports/host-port-range', 'POD-008', 'hostPort 70000 (the reference does not check the range)', pod_with(apps=[A], ports=[{'name': 'http', 'hostPort': 70000}]), False, code='ERR_SCHEMA_PORT', reference=True)
PM('ours', 'ports/no-host-port', 'POD-008', 'an exposed port without hostPort', pod_with(apps=[A], ports=[{'name': 'http'}]), False, code='ERR_SCHEMA_REQUIRED')
PM('ours', 'ports/pod-port', 'POD-008', 'an exposed port with its own podPort', pod_with(apps=[A], ports=[{'name': 'http', 'hostPort': 8080, 'podPort': {'name': 'http', 'protocol': 'tcp', 'port': 80}}]), True)
PM('ours', 'ports/app-port-names', 'POD-008', 'two apps declaring the same port name', pod_with(apps=[{**A, 'app': {**APP, 'ports': [{'name': 'http', 'protocol': 'tcp', 'port': 80}]}}, {'name': 'b', 'image': {'id': FULL}, 'app': {**APP, 'ports': [{'name': 'http', 'protocol': 'tcp', 'port': 81}]}}]), False, code='ERR_SCHEMA_DUPLICATE_NAME')
PM('ours', 'user-maps/ok', 'POD-009', 'pod userAnnotations and userLabels', pod_with(userAnnotations={'x': 'y'}, userLabels={'team': 'a'}), True)
PM('ours', 'user-maps/bad', 'POD-009', 'pod userAnnotations with a list value', pod_with(userAnnotations={'x': ['y']}), False, code='ERR_SCHEMA_TYPE')
add('pod', 'ours', 'pod/template/missing-name', 'POD-010', 'a template app still needs a name', {'type': 'podTemplate', 'value': pod_with(apps=[{'image': {'name': 'example.com/a'}}])}, False, code='ERR_SCHEMA_REQUIRED')
PM('ours', 'reified/ok', 'POD-011', 'every app names its image by a full ID', pod_with(apps=[A]), True)
PM('ours', 'reified/placeholder', 'POD-011', 'an app whose image id is the placeholder "sha512-..." (accepted with a warning, never matches an image)', pod_with(apps=[{'name': 'a', 'image': {'id': 'sha512-...'}}]), True, warnings=['WARN_SCHEMA_IMAGE_ID_NOT_FULL'])
add('pod', 'ours', 'pod/cli/volume-host-uid', 'POD-012', 'the --volume form refuses uid on a host volume (rkt)', {'type': 'volumeArg', 'value': 'data,kind=host,source=/srv,uid=1'}, False, code='ERR_SCHEMA_ARGUMENT')
add('pod', 'ours', 'pod/cli/volume-empty', 'POD-012', 'the --volume form of an empty volume', {'type': 'volumeArg', 'value': 'cache,kind=empty,mode=0700'}, True, volume={'name': 'cache', 'kind': 'empty', 'mode': '0700', 'uid': 0, 'gid': 0})

# ---------------- AUDIT: manifests judged by the spec text (TYPES/IMG/POD/ISO) ----------------
# Whole documents, so that an implementation run as `impl validate FILE` is judged on each rule; `reference`
# records the Go reference's verdict where it differs (it is lenient where the spec says must).
def AI(base, req, title, manifest, valid, **kw):
    M('img', 'audit', f'audit/{base}', req, title, manifest, valid, **kw)
def AP(base, req, title, manifest, valid, **kw):
    M('pod', 'audit', f'audit/{base}', req, title, manifest, valid, kind='PodManifest', **kw)
def AS(base, req, title, manifest, valid, **kw):
    M('iso', 'audit', f'audit/{base}', req, title, manifest, valid, kind=manifest.get('acKind', 'ImageManifest'), **kw)
AI('labels/arch-no-value', 'IMG-004', 'an arch label without a value (TYPES-009: a label has a value; the reference reads "" and then refuses the arch)', img_with(labels=[{'name': 'os', 'value': 'linux'}, {'name': 'arch'}]), False, code='ERR_SCHEMA_REQUIRED')
AI('labels/arch-null', 'IMG-004', 'an arch label whose value is null', img_with(labels=[{'name': 'os', 'value': 'linux'}, {'name': 'arch', 'value': None}]), False, code='ERR_SCHEMA_REQUIRED')
AI('labels/version-no-value', 'TYPES-009', 'a version label without a value (TYPES-009: name and value; the reference reads it as "")', img_with(labels=[{'name': 'version'}]), False, code='ERR_SCHEMA_REQUIRED', reference=True)
AI('labels/os-constructor', 'TYPES-010', 'os label "constructor" is no known OS', img_with(labels=[{'name': 'os', 'value': 'constructor'}]), False, code='ERR_SCHEMA_OS_ARCH')
AI('labels/linux-aarch64', 'TYPES-010', 'linux/aarch64 is in the reference table ValidOSArch that the spec points to', img_with(labels=[{'name': 'os', 'value': 'linux'}, {'name': 'arch', 'value': 'aarch64'}]), True)
AI('labels/freebsd-arm', 'TYPES-010', 'freebsd/arm is whitelisted', img_with(labels=[{'name': 'os', 'value': 'freebsd'}, {'name': 'arch', 'value': 'arm'}]), True)
AI('labels/linux-x86-64', 'TYPES-010', 'linux/x86_64 is not a known pair (linux says amd64)', img_with(labels=[{'name': 'os', 'value': 'linux'}, {'name': 'arch', 'value': 'x86_64'}]), False, code='ERR_SCHEMA_OS_ARCH')
AI('labels/os-upper', 'TYPES-010', 'os "Linux" (values are case-sensitive)', img_with(labels=[{'name': 'os', 'value': 'Linux'}]), False, code='ERR_SCHEMA_OS_ARCH')
AI('labels/name-reserved', 'TYPES-009', 'a label called "name"', img_with(labels=[{'name': 'name', 'value': 'x'}]), False, code='ERR_SCHEMA_LABEL_NAME_RESERVED')
AI('labels/dup', 'TYPES-009', 'two version labels', img_with(labels=[{'name': 'version', 'value': '1'}, {'name': 'version', 'value': '2'}]), False, code='ERR_SCHEMA_DUPLICATE_NAME')
for n, ok in [('example.com/~user/app_v1', True), ('sub-domain.example.com/org/product/release', True), ('a--b', False), ('example.com//app', False), ('example.com/app/', False), ('Example.com/app', False), ('example.com/app name', False), ('', False), ('a.-b', False), ('example.com/~~user', False)]:
    AI(f'name/{slug(n) or "empty"}-{ok}', 'TYPES-001', f'image name "{n}"' + (' is an AC Identifier' if ok else ' is not an AC Identifier') + (' (the spec lists it as an example)' if n.startswith('example.com/~user') else ''), img_with(name=n), ok, code=None if ok else 'ERR_SCHEMA_AC_IDENTIFIER', reference=(True if n in ('a--b', 'example.com//app', 'a.-b', 'example.com/~~user') else None))
for v, ok, code, ref in [('0.8.11+git', True, None, None), ('0.5.2', True, None, None), ('0.7.99', False, 'ERR_SCHEMA_AC_VERSION', True), ('0.8.11-rc.1', False, 'ERR_SCHEMA_AC_VERSION', True),
                         ('0.8.12', False, 'ERR_SCHEMA_AC_VERSION_NEWER', True), ('0.9.0', False, 'ERR_SCHEMA_AC_VERSION_NEWER', True), ('1.0.0', False, 'ERR_SCHEMA_AC_VERSION_NEWER', True), ('0.8', False, 'ERR_SCHEMA_AC_VERSION', None), ('v0.8.11', False, 'ERR_SCHEMA_AC_VERSION', None)]:
    AI(f'ac-version/{slug(v)}', 'TYPES-005', f'acVersion "{v}"' + (' is a released spec version' if ok else ' is refused (TYPES-005: a tagged spec version, not newer than the one implemented)'), img_with(acVersion=v), ok, code=code, reference=ref)
AI('ac-kind/lower', 'IMG-001', 'acKind "imagemanifest" (case-sensitive)', img_with(acKind='imagemanifest'), False, code='ERR_SCHEMA_AC_KIND')
for v, ok, code, ref, w in [('sha512-abc', False, 'ERR_SCHEMA_IMAGE_ID', True, None), ('sha512-' + 'z' * 128, False, 'ERR_SCHEMA_IMAGE_ID', True, None), ('sha256-' + 'a' * 64, False, 'ERR_SCHEMA_IMAGE_ID', None, None),
                            ('', False, 'ERR_SCHEMA_IMAGE_ID', None, None), (FULL, True, None, None, None), (FULL.upper().replace('SHA512', 'sha512'), True, None, None, ['WARN_SCHEMA_IMAGE_ID_NOT_FULL']),
                            ('sha512-...', True, None, None, ['WARN_SCHEMA_IMAGE_ID_NOT_FULL'])]:
    AI(f'deps/image-id-{slug(v)[:24] or "empty"}-{len(v)}', 'IMG-017', f'dependency imageID "{v[:30]}{"…" if len(v) > 30 else ""}"' + (' is accepted' if ok else ' is refused (TYPES-006: sha512- and the hex digest)') + (' with a warning' if w else ''),
       img_with(dependencies=[{'imageName': 'example.com/base', 'imageID': v}]), ok, code=code, reference=ref, warnings=w)
AI('deps/size-float', 'IMG-017', 'dependency size 1.5 (an integer number of bytes)', img_with(dependencies=[{'imageName': 'example.com/base', 'size': 1.5}]), False, code='ERR_SCHEMA_RANGE')
AI('app/working-directory-empty', 'IMG-010', 'workingDirectory "" (IMG-010: must be an absolute path; the reference reads "" as unset)', img_with(app={**APP, 'workingDirectory': ''}), False, code='ERR_SCHEMA_PATH_NOT_ABSOLUTE', reference=True)
AI('app/working-directory-relative', 'IMG-010', 'workingDirectory "opt/work"', img_with(app={**APP, 'workingDirectory': 'opt/work'}), False, code='ERR_SCHEMA_PATH_NOT_ABSOLUTE')
AI('app/no-exec', 'IMG-006', 'an app without exec (optional in 0.8.11)', img_with(app={'user': '0', 'group': '0'}), True)
AI('app/exec-relative', 'IMG-006', 'exec "sh" (looked up in PATH at run time)', img_with(app={**APP, 'exec': ['sh', '-c', 'true']}), True)
AI('app/no-group', 'IMG-007', 'an app without group', img_with(app={'exec': ['/a'], 'user': '0'}), False, code='ERR_SCHEMA_REQUIRED')
AI('app/env-no-value', 'IMG-011', 'an environment variable without value (TYPES-014: name and value; the reference reads it as "")', img_with(app={**APP, 'environment': [{'name': 'A'}]}), False, code='ERR_SCHEMA_REQUIRED', reference=True)
AI('app/env-dot-dash', 'IMG-011', 'environment name "a.b-c" (periods and hyphens are allowed)', img_with(app={**APP, 'environment': [{'name': 'a.b-c', 'value': 'x'}]}), True)
AI('app/env-digit', 'IMG-011', 'environment name "1A"', img_with(app={**APP, 'environment': [{'name': '1A', 'value': 'x'}]}), False, code='ERR_SCHEMA_ENV_NAME')
AI('app/env-dup', 'IMG-011', 'two environment variables named A', img_with(app={**APP, 'environment': [{'name': 'A', 'value': 'x'}, {'name': 'A', 'value': 'y'}]}), False, code='ERR_SCHEMA_DUPLICATE_NAME')
AI('app/handlers-dup', 'IMG-009', 'two pre-start handlers (only one of a given name)', img_with(app={**APP, 'eventHandlers': [{'name': 'pre-start', 'exec': ['/a']}, {'name': 'pre-start', 'exec': ['/b']}]}), False, code='ERR_SCHEMA_DUPLICATE_NAME')
AI('app/handler-post-start', 'IMG-009', 'a "post-start" handler', img_with(app={**APP, 'eventHandlers': [{'name': 'post-start', 'exec': ['/a']}]}), False, code='ERR_SCHEMA_EVENT_HANDLER')
AI('app/gids-negative', 'IMG-008', 'supplementaryGIDs [-1] (unsigned integers; the reference reads ints)', img_with(app={**APP, 'supplementaryGIDs': [-1]}), False, code='ERR_SCHEMA_RANGE', reference=True)
for port, count, ok in [(65535, None, True), (65536, None, False), (0, None, False), (65000, 536, True), (65000, 537, False), (80, 0, False)]:
    p_ = {'name': 'p', 'protocol': 'tcp', 'port': port}
    if count is not None: p_['count'] = count
    AI(f'ports/{port}-{count}', 'IMG-014', f'port {port}' + (f' count {count}' if count is not None else '') + (' is inside 1..65535' if ok else ' is outside 1..65535 or its count below 1'), img_with(app={**APP, 'ports': [p_]}), ok, code=None if ok else 'ERR_SCHEMA_PORT', reference=(True if count == 0 else None))
AI('ports/no-name', 'IMG-014', 'a port without name (required)', img_with(app={**APP, 'ports': [{'protocol': 'tcp', 'port': 80}]}), False, code='ERR_SCHEMA_REQUIRED', reference=True)
AI('ports/socket-activated-string', 'IMG-014', 'socketActivated "true" (a boolean)', img_with(app={**APP, 'ports': [{'name': 'p', 'protocol': 'tcp', 'port': 80, 'socketActivated': 'true'}]}), False, code='ERR_SCHEMA_TYPE')
AI('annotations/created-lower-t', 'IMG-018', 'created "2014-10-27t19:32:27Z" (an upper-case T)', img_with(annotations=[{'name': 'created', 'value': '2014-10-27t19:32:27Z'}]), False, code='ERR_SCHEMA_TIMESTAMP')
AI('annotations/homepage-ftp', 'IMG-018', 'homepage "ftp://example.com" (scheme http or https)', img_with(annotations=[{'name': 'homepage', 'value': 'ftp://example.com'}]), False, code='ERR_SCHEMA_URL')
AI('annotations/dup', 'IMG-018', 'two annotations named authors', img_with(annotations=[{'name': 'authors', 'value': 'a'}, {'name': 'authors', 'value': 'b'}]), False, code='ERR_SCHEMA_DUPLICATE_NAME')
for q, ok in [('1k', True), ('1K', True), ('1M', True), ('1Mi', True), ('1Ki', True), ('1G', True), ('1Gi', True), ('1T', True), ('1Ti', True), ('1P', True), ('1Pi', True), ('1E', True), ('1Ei', True),
              ('300m', True), ('0.5', True), ('1.5Gi', True), ('1e3', True), ('128974848', True), ('1GB', False), ('1 G', False), ('0x10', False), ('1.2.3', False), ('', False), ('1mi', False)]:
    AS(f'memory/{slug(q) or "empty"}-{"upper" if q != q.lower() else "lower"}', 'TYPES-016', f'memory limit "{q}"' + (' is a quantity' if ok else ' is not a quantity'), app_iso({'name': 'resource/memory', 'value': {'limit': q}}), ok, code=None if ok else 'ERR_SCHEMA_QUANTITY', reference=(False if q == '1K' else None))
AS('memory/negative', 'ISO-013', 'memory limit "-1G" (ours: isolator quantities are not negative)', app_iso({'name': 'resource/memory', 'value': {'limit': '-1G'}}), False, code='ERR_SCHEMA_ISOLATOR_VALUE', reference=True)
AS('cpu/milli', 'ISO-014', 'cpu request 250m, limit 500m', app_iso({'name': 'resource/cpu', 'value': {'request': '250m', 'limit': '500m'}}), True)
AS('block-bandwidth/no-default', 'ISO-016', 'block-bandwidth without default (must be true)', app_iso({'name': 'resource/block-bandwidth', 'value': {'limit': '2M'}}), False, code='ERR_SCHEMA_ISOLATOR_VALUE')
AS('network-bandwidth/ok', 'ISO-018', 'network-bandwidth default true limit 1G', app_iso({'name': 'resource/network-bandwidth', 'value': {'default': True, 'limit': '1G'}}), True)
AS('app/constructor', 'ISO-003', 'an app isolator named "constructor" is unknown (a warning; the reference refuses unknown app isolators)', app_iso({'name': 'constructor', 'value': {}}), True, warnings=['WARN_SCHEMA_ISOLATOR_UNKNOWN'], reference=False)
AS('seccomp/empty-set', 'ISO-004', 'seccomp-remove-set with an empty set (MUST NOT be empty)', app_iso({'name': 'os/linux/seccomp-remove-set', 'value': {'set': []}}), False, code='ERR_SCHEMA_ISOLATOR_VALUE')
AS('seccomp/errno-lower', 'ISO-006', 'errno "eperm" (all upper-case)', app_iso({'name': 'os/linux/seccomp-retain-set', 'value': {'set': ['read'], 'errno': 'eperm'}}), False, code='ERR_SCHEMA_ISOLATOR_VALUE')
AS('nnp/string', 'ISO-012', 'no-new-privileges "true" (a JSON boolean)', app_iso({'name': 'os/linux/no-new-privileges', 'value': 'true'}), False, code='ERR_SCHEMA_ISOLATOR_VALUE')
AS('pod/sysctl-twice', 'ISO-019', 'two os/unix/sysctl isolators in a pod (ISO-019: only one per pod; the reference does not check pod lists)', {**POD, 'isolators': [{'name': 'os/unix/sysctl', 'value': {'net.ipv4.ip_forward': '1'}}, {'name': 'os/unix/sysctl', 'value': {}}]}, False, code='ERR_SCHEMA_ISOLATOR_MULTIPLE', reference=True)
AS('pod/apparmor-twice', 'ISO-009', 'two apparmor profiles in a pod (one per pod)', {**POD, 'isolators': [{'name': 'os/linux/apparmor-profile', 'value': {'profile': 'a'}}] * 2}, False, code='ERR_SCHEMA_ISOLATOR_MULTIPLE', reference=True)
AS('unknown/null-value', 'TYPES-007', 'an unknown isolator whose value is null (value may be any JSON value)', app_iso({'name': 'example.com/ponies', 'value': None}), True, warnings=['WARN_SCHEMA_ISOLATOR_UNKNOWN'], reference=False)
AS('pod/unknown-null-value', 'TYPES-007', 'an unknown pod isolator whose value is null', {**POD, 'isolators': [{'name': 'example.com/ponies', 'value': None}]}, True, warnings=['WARN_SCHEMA_ISOLATOR_UNKNOWN'])
AS('memory/null-value', 'ISO-015', 'resource/memory whose value is null (an object {request?, limit?})', app_iso({'name': 'resource/memory', 'value': None}), False, code='ERR_SCHEMA_ISOLATOR_VALUE')
AS('unknown/no-value', 'TYPES-007', 'an unknown isolator without value (a required field)', app_iso({'name': 'example.com/ponies'}), False, code='ERR_SCHEMA_REQUIRED')
AS('pod/memory-twice', 'POD-006', 'two memory isolators in a pod (resource isolators may repeat)', {**POD, 'isolators': [{'name': 'resource/memory', 'value': {'limit': '1G'}}] * 2}, True)
AP('version/pre-release', 'POD-002', 'pod acVersion "0.8.11-rc.1" names no release (TYPES-005)', pod_with(acVersion='0.8.11-rc.1'), False, code='ERR_SCHEMA_AC_VERSION', reference=True)
AP('apps/image-id-short', 'POD-003', 'a pod app image id "sha512-abc" (TYPES-006: the hex digest)', pod_with(apps=[{'name': 'a', 'image': {'id': 'sha512-abc'}}]), False, code='ERR_SCHEMA_IMAGE_ID', reference=True)
AP('apps/name-dot', 'POD-003', 'a pod app name "a.b" (an AC Name)', pod_with(apps=[{'name': 'a.b', 'image': {'id': FULL}}]), False, code='ERR_SCHEMA_AC_NAME')
AP('apps/dup', 'POD-003', 'two pod apps named a', pod_with(apps=[A, A]), False, code='ERR_SCHEMA_DUPLICATE_NAME')
AP('apps/one-image-twice', 'POD-003', 'two apps of one image', pod_with(apps=[A, {'name': 'b', 'image': {'id': FULL}}]), True)
AP('mounts/undeclared', 'POD-004', 'a mount whose volume is not in volumes (POD-004: a key into volumes; the reference does not check)', pod_with(apps=[{**A, 'mounts': [{'volume': 'data', 'path': '/data'}]}]), False, code='ERR_SCHEMA_VOLUME_UNDECLARED', reference=True)
AP('mounts/undeclared-app-volume', 'POD-004', 'a mount of an undeclared volume that brings its appVolume', pod_with(apps=[{**A, 'mounts': [{'volume': 'data', 'path': '/data', 'appVolume': {'name': 'data', 'kind': 'empty'}}]}]), True)
add('pod', 'audit', 'pod/audit/mounts/undeclared-template', 'POD-010', 'a template may mount a volume it does not declare yet', {'type': 'podTemplate', 'value': pod_with(apps=[{**A, 'mounts': [{'volume': 'data', 'path': '/data'}]}])}, True)
for mode, ok in [('0755', True), ('755', True), ('01777', True), ('0999', False), ('rwxr-xr-x', False)]:
    AP(f'volumes/mode-{slug(mode)}', 'POD-005', f'empty volume mode "{mode}"' + (' (octal permission bits)' if ok else ' is not octal permission bits'), pod_with(volumes=[{'name': 'v', 'kind': 'empty', 'mode': mode}]), ok, code=None if ok else 'ERR_SCHEMA_RANGE', reference=(True if not ok else None))
AP('volumes/host-source-relative', 'POD-005', 'host volume source "srv" (an absolute path on the host)', pod_with(volumes=[{'name': 'v', 'kind': 'host', 'source': 'srv'}]), False, code='ERR_SCHEMA_PATH_NOT_ABSOLUTE', reference=True)
AP('volumes/kind-upper', 'POD-005', 'volume kind "Host"', pod_with(volumes=[{'name': 'v', 'kind': 'Host', 'source': '/srv'}]), False, code='ERR_SCHEMA_VOLUME_KIND')
for ip, ok in [('203.0.113.23', True), ('0.0.0.0', True), ('::1', False), ('::ffff:1.2.3.4', False), ('', False), ('1.2.3', False), ('256.1.1.1', False), ('01.2.3.4', False), ('localhost', False)]:
    AP(f'ports/host-ip-{slug(ip) or "empty"}', 'POD-008', f'hostIP "{ip}"' + (' is a dotted-quad IPv4 address' if ok else ' is not an IPv4 address in dotted-quad notation (POD-008)'), pod_with(apps=[A], ports=[{'name': 'http', 'hostPort': 8080, 'hostIP': ip}]), ok, code=None if ok else 'ERR_SCHEMA_IP', reference=(True if ip in ('::1', '::ffff:1.2.3.4', '') else None))
APP_HTTP = {**APP, 'ports': [{'name': 'http', 'protocol': 'tcp', 'port': 80}]}
AP('ports/exposed-undeclared', 'POD-008', 'an exposed port that no app declares, every app giving its app object (POD-008: the name is a key into the apps\' ports unless podPort; the reference does not check)', pod_with(apps=[{**A, 'app': APP}], ports=[{'name': 'http', 'hostPort': 8080}]), False, code='ERR_SCHEMA_PORT_UNDECLARED', reference=True)
AP('ports/exposed-declared', 'POD-008', 'an exposed port that an app declares', pod_with(apps=[{**A, 'app': APP_HTTP}], ports=[{'name': 'http', 'hostPort': 8080}]), True)
AP('ports/exposed-pod-port', 'POD-008', 'an exposed port no app declares, with its podPort', pod_with(apps=[{**A, 'app': APP}], ports=[{'name': 'http', 'hostPort': 8080, 'podPort': {'name': 'http', 'protocol': 'tcp', 'port': 80}}]), True)
AP('ports/exposed-image-app', 'POD-008', 'an exposed port while an app takes its image\'s app object (its ports are not known here)', pod_with(apps=[A, {'name': 'b', 'image': {'id': FULL}, 'app': APP}], ports=[{'name': 'http', 'hostPort': 8080}]), True)
AP('ports/exposed-no-apps', 'POD-008', 'an exposed port in a pod without apps', pod_with(ports=[{'name': 'http', 'hostPort': 8080}]), False, code='ERR_SCHEMA_PORT_UNDECLARED', reference=True)
add('pod', 'audit', 'pod/audit/ports/exposed-undeclared-template', 'POD-010', 'a template may expose a port its apps do not declare yet', {'type': 'podTemplate', 'value': pod_with(apps=[{**A, 'app': APP}], ports=[{'name': 'http', 'hostPort': 8080}])}, True)
AP('ports/host-port-zero', 'POD-008', 'hostPort 0', pod_with(apps=[A], ports=[{'name': 'http', 'hostPort': 0}]), False, code='ERR_SCHEMA_PORT', reference=True)
AP('ports/dup', 'POD-008', 'one port name exposed twice', pod_with(apps=[A], ports=[{'name': 'http', 'hostPort': 1}, {'name': 'http', 'hostPort': 2}]), False, code='ERR_SCHEMA_DUPLICATE_NAME')
AP('annotations/app-identifier', 'POD-003', 'a pod app annotation named "example.com/x" (AC Name at pod level; the reference takes AC Identifiers)', pod_with(apps=[{**A, 'annotations': [{'name': 'example.com/x', 'value': 'y'}]}]), False, code='ERR_SCHEMA_AC_NAME', reference=True)
AP('go-nulls', 'POD-005', 'volumes, isolators, annotations and ports written as null, as Go writes empty lists', pod_with(apps=[A], volumes=None, isolators=None, annotations=None, ports=None), True)

for (section, file), vs in files.items():
    os.makedirs(os.path.join(OUT, section), exist_ok=True)
    with open(os.path.join(OUT, section, file + '.json'), 'w') as f:
        json.dump(vs, f, indent=1, ensure_ascii=False)
        f.write('\n')
for section in sorted({s for s, _ in files}):
    n = sum(len(v) for (s, _), v in files.items() if s == section)
    print(section, n)
