#!/usr/bin/env python3
"""Writes conformance/vectors/disc/*.json from the reference's converted tests plus our own cases.

Usage (from the repository root): python3 packages/discovery/scripts/convert-vectors.py ../shared/vectors/appc-spec

Verdicts, codes and expected values are written here by hand (or copied from the reference tables), never
computed by our implementation. Do not edit the JSON by hand: change this script and run it again.
"""
import json
import os
import shutil
import sys

src = sys.argv[1] if len(sys.argv) > 1 else '../shared/vectors/appc-spec'
out = os.path.join('conformance', 'vectors', 'disc')
os.makedirs(out, exist_ok=True)


def load(name):
    with open(os.path.join(src, name), encoding='utf-8') as f:
        return json.load(f)


def write(name, vectors):
    ids = [v['id'] for v in vectors]
    assert len(ids) == len(set(ids)), name
    with open(os.path.join(out, name), 'w', encoding='utf-8') as f:
        json.dump(vectors, f, indent=2, ensure_ascii=False)
        f.write('\n')
    print(f'{name}: {len(vectors)}')
    return len(vectors)


total = 0
BAD_APP = 'ERR_DISC_BAD_APP_STRING'

# ---- app strings (DISC-014) ----
app = load('discovery-app-string.json')
ref = app['source']
vs = []
for i, c in enumerate(app['valid']):
    vs.append({'id': f'disc/app-string-valid-{i + 1}', 'requirement': 'DISC-014', 'title': f'parses {c["in"]}',
               'input': {'appString': c['in']}, 'expect': {'valid': True, 'app': c['app']}, 'source': ref})
for i, c in enumerate(app['invalid']):
    vs.append({'id': f'disc/app-string-invalid-{i + 1}', 'requirement': 'DISC-014',
               'title': f'rejects {c["in"]}: {c["why"]}', 'input': {'appString': c['in']},
               'expect': {'valid': False, 'code': BAD_APP}, 'source': ref})
# the reference only checks that format-then-parse gives the same app; the string is our format (sorted labels)
formatted = ['example.com/reduce-worker', 'example.com/reduce-worker:1.0.0',
             'example.com/reduce-worker,channel=alpha,label=value']
for i, (c, s) in enumerate(zip(app['roundTrip'], formatted)):
    vs.append({'id': f'disc/app-string-roundtrip-{i + 1}', 'requirement': 'DISC-014',
               'title': f'{s} is written back and parses to the same app', 'input': {'app': c},
               'expect': {'valid': True, 'appString': s, 'app': c}, 'source': ref})
own_valid = [
    ('example.com/app', {'name': 'example.com/app', 'labels': {}}, 'a bare name has no labels'),
    ('example.com/app,key=a=b', {'name': 'example.com/app', 'labels': {'key': 'a=b'}},
     'a value is everything after the first "="'),
    ('example.com/app:v 1,os=linux', {'name': 'example.com/app', 'labels': {'version': 'v 1', 'os': 'linux'}},
     'values are taken literally (a space stays)'),
    ('example.com/app,os=linux,arch=amd64,version=2', {'name': 'example.com/app',
     'labels': {'os': 'linux', 'arch': 'amd64', 'version': '2'}}, 'version may be given as a label'),
]
for i, (s, a, why) in enumerate(own_valid):
    vs.append({'id': f'disc/app-string-own-valid-{i + 1}', 'requirement': 'DISC-014', 'title': f'parses {s}: {why}',
               'input': {'appString': s}, 'expect': {'valid': True, 'app': a}, 'source': 'ours'})
own_invalid = [
    ('', 'empty'),
    ('Example.com/app', 'upper-case name is not an AC Identifier'),
    ('example.com/app,os', 'a label part without "="'),
    ('example.com/app,Os=linux', 'a label name that is not an AC Identifier'),
    ('example.com/app,=linux', 'an empty label name'),
    ('example.com/app,name=other', 'a label called name'),
    ('example.com/app,', 'an empty label part'),
    ('example.com/app:1,os=linux,os=darwin', 'os given twice'),
]
for i, (s, why) in enumerate(own_invalid):
    vs.append({'id': f'disc/app-string-own-invalid-{i + 1}', 'requirement': 'DISC-014', 'title': f'rejects {s!r}: {why}',
               'input': {'appString': s}, 'expect': {'valid': False, 'code': BAD_APP}, 'source': 'ours'})
total += write('app-string.json', vs)

# ---- k=v,k2=v2 strings (DISC-014) ----
q = load('common-query-string.json')
vs = []
for i, c in enumerate(q['cases']):
    e = {'valid': not c['error']}
    if c['error']:
        e['code'] = BAD_APP
    else:
        e['query'] = c['out']
    vs.append({'id': f'disc/label-string-{i + 1}', 'requirement': 'DISC-014', 'title': f'{c["in"]!r} as a query',
               'input': {'labelString': c['in']}, 'expect': e, 'source': q['source']})
total += write('label-string.json', vs)

# ---- discovery pages (DISC-001..DISC-010) ----
for n in range(1, 7):
    shutil.copyfile(os.path.join(src, f'meta0{n}.html'), os.path.join(out, f'meta0{n}.html'))
ep = load('discovery-endpoints.json')
req_of = ['DISC-001', 'DISC-004', 'DISC-004', 'DISC-004', 'DISC-004', 'DISC-004', 'DISC-004', 'DISC-004',
          'DISC-006', 'DISC-006', 'DISC-006', 'DISC-007', 'DISC-010']
assert len(req_of) == len(ep['cases'])
vs = []
for i, c in enumerate(ep['cases']):
    base = {'pages': c['pages'], 'app': c['app']}
    if 'hostHeaders' in c:
        base['hostHeaders'] = c['hostHeaders']
    img = {'valid': c['aciEndpoints'] is not None, **({'endpoints': c['aciEndpoints']} if c['aciEndpoints'] else {'code': 'ERR_DISC_NOT_FOUND'})}
    vs.append({'id': f'disc/endpoints-{i + 1}-image', 'requirement': req_of[i], 'title': f'image: {c["desc"]}',
               'input': {'kind': 'image', **base}, 'expect': img, 'source': ep['source']})
    if c['aciEndpoints'] is None and c['publicKeys'] is not None and i != 6:
        continue  # the Go test never checked these keys (see the file's note)
    keys = {'valid': c['publicKeys'] is not None, **({'pubkeys': c['publicKeys']} if c['publicKeys'] else {'code': 'ERR_DISC_NOT_FOUND'})}
    vs.append({'id': f'disc/endpoints-{i + 1}-pubkeys', 'requirement': 'DISC-008' if i not in (3, 4, 5, 6, 7) else 'DISC-004',
               'title': f'public keys: {c["desc"]}', 'input': {'kind': 'pubkeys', **base}, 'expect': keys,
               'source': ep['source']})
L = {'version': '1.0.0', 'os': 'linux', 'arch': 'amd64'}
meta = lambda *tags: '<!DOCTYPE html><html><head>' + ''.join(  # noqa: E731
    f'<meta name="{n}" content="{c}">' for n, c in tags) + '</head><body></body></html>'
T = 'https://storage.example.com/{name}-{version}-{os}-{arch}.{ext}'


def ends(name, version='1.0.0', scheme='https://storage.example.com/', os_='linux', arch='amd64'):
    u = f'{scheme}{name}-{version}-{os_}-{arch}.aci'
    return [{'aci': u, 'asc': u + '.asc'}]


own = [
    ('DISC-005', 'image', 'a tag for example.com/foo also answers example.com/foobar (plain string prefix)',
     {'example.com/foobar': {'html': meta(('ac-discovery', 'example.com/foo ' + T))}},
     {'name': 'example.com/foobar', 'labels': L}, {'valid': True, 'endpoints': ends('example.com/foobar')}, None),
    ('DISC-005', 'image', 'a tag whose prefix does not start the name is not used, and the walk goes on',
     {'example.com/app': {'html': meta(('ac-discovery', 'example.org ' + T))},
      'example.com': {'html': meta(('ac-discovery', 'example.com https://parent.example.com/{name}-{version}-{os}-{arch}.{ext}'))}},
     {'name': 'example.com/app', 'labels': L},
     {'valid': True, 'endpoints': ends('example.com/app', scheme='https://parent.example.com/')}, None),
    ('DISC-005', 'image', 'prefix matching is case-sensitive',
     {'example.com/app': {'html': meta(('ac-discovery', 'Example.com ' + T))}},
     {'name': 'example.com/app', 'labels': L}, {'valid': False, 'code': 'ERR_DISC_NOT_FOUND'}, None),
    ('DISC-008', 'pubkeys', 'a public-key URL is used verbatim, placeholders included',
     {'example.com/app': {'html': meta(('ac-discovery-pubkeys', 'example.com https://example.com/{name}/keys.gpg'))}},
     {'name': 'example.com/app', 'labels': L}, {'valid': True, 'pubkeys': ['https://example.com/{name}/keys.gpg']}, None),
    ('DISC-008', 'pubkeys', 'every matching key URL of the page, in page order',
     {'example.com': {'html': meta(('ac-discovery-pubkeys', 'example.com https://example.com/a.gpg'),
                                   ('ac-discovery-pubkeys', 'example.org https://example.org/x.gpg'),
                                   ('ac-discovery-pubkeys', 'example.com/app https://example.com/b.gpg'))}},
     {'name': 'example.com/app', 'labels': {}},
     {'valid': True, 'pubkeys': ['https://example.com/a.gpg', 'https://example.com/b.gpg']}, None),
    ('DISC-004', 'image', 'a 500 at the deepest level is recorded and the walk goes on (ref: any failure)',
     {'example.com/app': {'status': 500}, 'example.com': 'meta01.html'},
     {'name': 'example.com/app', 'labels': L}, {'valid': True, 'endpoints': ends('example.com/app')}, None),
    ('DISC-004', 'image', 'a 200 page whose templates all need a missing label counts as nothing found',
     {'example.com/app': {'html': meta(('ac-discovery', 'example.com https://x.example.com/{name}-{channel}.{ext}'))},
      'example.com': 'meta01.html'},
     {'name': 'example.com/app', 'labels': L}, {'valid': True, 'endpoints': ends('example.com/app')}, None),
    ('DISC-006', 'image', 'any label fills its placeholder ({channel})',
     {'example.com/app': {'html': meta(('ac-discovery', 'example.com https://x.example.com/{channel}/{name}.{ext}'))}},
     {'name': 'example.com/app', 'labels': {'channel': 'beta'}},
     {'valid': True, 'endpoints': [{'aci': 'https://x.example.com/beta/example.com/app.aci',
                                    'asc': 'https://x.example.com/beta/example.com/app.aci.asc'}]}, None),
    ('DISC-002', 'image', 'a redirect from https to https is followed',
     {'example.com/app': {'redirect': 'https://example.com/moved?ac-discovery=1'}, 'example.com/moved': 'meta01.html'},
     {'name': 'example.com/app', 'labels': L}, {'valid': True, 'endpoints': ends('example.com/app')}, None),
    ('DISC-002', 'image', 'a redirect from https to http is refused (ours: even with insecure http; no page below has tags)',
     {'example.com/app': {'redirect': 'http://example.com/moved?ac-discovery=1', 'scheme': 'https'},
      'example.com/moved': 'meta01.html'},
     {'name': 'example.com/app', 'labels': L}, {'valid': False, 'code': 'ERR_DISC_INSECURE_REDIRECT'}, [[], ['tls']]),
    ('DISC-011', 'image', 'a page served only over plain http is not used without insecure http',
     {'example.com/app': {'file': 'meta01.html', 'scheme': 'http'}},
     {'name': 'example.com/app', 'labels': L}, {'valid': False, 'code': 'ERR_DISC_NOT_FOUND'}, [[], ['tls']]),
    ('DISC-011', 'image', 'a page served only over plain http is used with insecure http',
     {'example.com/app': {'file': 'meta01.html', 'scheme': 'http'}},
     {'name': 'example.com/app', 'labels': L}, {'valid': True, 'endpoints': ends('example.com/app')}, [['http'], ['http', 'tls']]),
    ('DISC-003', 'image', 'meta tags in the body, upper-case, unquoted and self-closing are read',
     {'example.com/app': {'html': '<html><body><p>x</p><META CONTENT="example.com ' + T + '" NAME=ac-discovery /></body></html>'}},
     {'name': 'example.com/app', 'labels': L}, {'valid': True, 'endpoints': ends('example.com/app')}, None),
]
for i, (req, kind, title, pages, app_, expect, insecure) in enumerate(own):
    inp = {'kind': kind, 'pages': pages, 'app': app_}
    if insecure is not None:
        inp['insecure'] = insecure
    vs.append({'id': f'disc/endpoints-own-{i + 1}', 'requirement': req, 'title': f'{kind}: {title}', 'input': inp,
               'expect': expect, 'source': 'ours'})
total += write('endpoints.json', vs)

# ---- one page: https, then http (DISC-001, DISC-002, DISC-010, DISC-011) ----
h = load('discovery-https-or-http.json')
vs = []
for i, c in enumerate(h['cases']):
    inp = {k: c[k] for k in ('host', 'insecure', 'https', 'http') if k in c}
    if 'hostHeaders' in c:
        inp['hostHeaders'] = c['hostHeaders']
    if c['host'].endswith('-no-tls'):
        inp['certificate'] = 'untrusted'  # ours: make "tls" matter by not trusting the test CA
    e = {'valid': c['url'] is not None}
    if c['url']:
        e['url'] = c['url']
    else:
        e['code'] = 'ERR_DISC_NETWORK' if c['https'] == 'error' and c['http'] == 'error' else 'ERR_DISC_HTTP_STATUS'
    req = 'DISC-010' if 'hostHeaders' in c else 'DISC-011' if c['insecure'] else 'DISC-002' if i else 'DISC-001'
    vs.append({'id': f'disc/https-or-http-{i + 1}', 'requirement': req,
               'title': f'{c["host"]} with insecure {c["insecure"]}: {c.get("why", "https " + str(c["https"]) + ", http " + str(c["http"]))}',
               'input': inp, 'expect': e, 'source': h['source']})
own = [
    ('DISC-002', {'host': 'redirect-down', 'insecure': [], 'https': {'redirect': 'http'}, 'http': 'ok'},
     {'valid': False, 'code': 'ERR_DISC_INSECURE_REDIRECT'}, 'https redirecting to http is refused'),
    ('DISC-002', {'host': 'redirect-down', 'insecure': ['http'], 'https': {'redirect': 'http'}, 'http': 'ok'},
     {'valid': True, 'url': 'http://redirect-down?ac-discovery=1'},
     'the refused redirect is not followed; the http fallback asks the discovery URL itself'),
    ('DISC-002', {'host': 'redirect-same', 'insecure': [], 'https': {'redirect': 'https'}, 'http': 'error'},
     {'valid': True, 'url': 'https://redirect-same/moved'}, 'https to https redirects are followed'),
    ('DISC-002', {'host': 'redirect-loop', 'insecure': [], 'https': {'redirect': 'loop'}, 'http': 'error'},
     {'valid': False, 'code': 'ERR_DISC_TOO_MANY_REDIRECTS'}, 'more than 10 redirects fail'),
    ('DISC-002', {'host': 'server-error', 'insecure': ['http'], 'https': 500, 'http': 'ok'},
     {'valid': True, 'url': 'http://server-error?ac-discovery=1'}, 'any non-200 over https falls back to http when allowed'),
    ('DISC-011', {'host': 'untrusted', 'insecure': [], 'https': 'ok', 'http': 'ok', 'certificate': 'untrusted'},
     {'valid': False, 'code': 'ERR_DISC_TLS'}, 'an untrusted certificate fails without insecure tls'),
    ('DISC-011', {'host': 'untrusted', 'insecure': ['http'], 'https': 'ok', 'http': 'ok', 'certificate': 'untrusted'},
     {'valid': True, 'url': 'http://untrusted?ac-discovery=1'}, 'an untrusted certificate with insecure http falls back to http'),
    ('DISC-010', {'host': 'auth-over-http', 'insecure': ['http'], 'https': 'error', 'http': 'ok',
                  'hostHeaders': {'auth-over-http': {'Authorization': 'Basic YmFyOmJheg=='}}},
     {'valid': False, 'code': 'ERR_DISC_HTTP_STATUS'}, 'basic credentials are never sent over plain http (the server wants them)'),
]
for i, (req, inp, e, title) in enumerate(own):
    vs.append({'id': f'disc/https-or-http-own-{i + 1}', 'requirement': req, 'title': f'{inp["host"]}: {title}',
               'input': inp, 'expect': e, 'source': 'ours'})
total += write('https-or-http.json', vs)

# ---- meta tags (DISC-003) ----
D = 'ac-discovery'
cases = [
    ('tags in head, document order', meta((D, 'a.com https://a.com/{name}.{ext}'), ('ac-discovery-pubkeys', 'a.com https://a.com/k.gpg')),
     [{'name': D, 'prefix': 'a.com', 'value': 'https://a.com/{name}.{ext}'},
      {'name': 'ac-discovery-pubkeys', 'prefix': 'a.com', 'value': 'https://a.com/k.gpg'}], 'appc/spec discovery/discovery_test.go'),
    ('a tag in the body is read', '<html><body><div><meta name="ac-discovery" content="a.com x"></div></body></html>',
     [{'name': D, 'prefix': 'a.com', 'value': 'x'}], 'ours'),
    ('attributes in any order and case, unquoted, self-closing', '<META CONTENT=\'a.com  x \' Name=ac-discovery />',
     [{'name': D, 'prefix': 'a.com', 'value': 'x'}], 'ours'),
    ('content is trimmed and split at the first whitespace; the rest is trimmed',
     '<meta name="ac-discovery" content="  a.com   https://a.com/x y  ">', [{'name': D, 'prefix': 'a.com', 'value': 'https://a.com/x y'}], 'ours'),
    ('a tab separates prefix and value too', '<meta name="ac-discovery" content="a.com\thttps://a.com/x">',
     [{'name': D, 'prefix': 'a.com', 'value': 'https://a.com/x'}], 'ours'),
    ('a content with one field is dropped', '<meta name="ac-discovery" content="a.com">', [], 'ours'),
    ('an empty content is dropped', '<meta name="ac-discovery" content="   ">', [], 'ours'),
    ('names not starting with ac- are ignored', '<meta name="description" content="a.com x"><meta name="ac-other" content="a b">',
     [{'name': 'ac-other', 'prefix': 'a', 'value': 'b'}], 'ours'),
    ('entities in content are decoded', '<meta name="ac-discovery" content="a.com https://a.com/?a=1&amp;b=2">',
     [{'name': D, 'prefix': 'a.com', 'value': 'https://a.com/?a=1&b=2'}], 'ours'),
    ('a tag inside a comment or a script is not a tag',
     '<!-- <meta name="ac-discovery" content="a.com x"> --><script>"<meta name=\\"ac-discovery\\" content=\\"a.com y\\">"</script>', [], 'ours'),
    ('a meta tag without content is ignored', '<meta name="ac-discovery">', [], 'ours'),
]
vs = [{'id': f'disc/meta-tags-{i + 1}', 'requirement': 'DISC-003', 'title': t, 'input': {'html': html},
       'expect': {'valid': True, 'tags': tags}, 'source': s} for i, (t, html, tags, s) in enumerate(cases)]
total += write('meta-tags.json', vs)

# ---- template rendering (DISC-006) ----
N = 'example.com/app'
cases = [
    ('all placeholders', '{name}-{version}-{os}-{arch}.{ext}', {'version': '1', 'os': 'linux', 'arch': 'amd64'}, 'aci', 'example.com/app-1-linux-amd64.aci'),
    ('the signature extension', '{name}.{ext}', {}, 'aci.asc', 'example.com/app.aci.asc'),
    ('a missing label skips the template', '{name}-{os}.{ext}', {'version': '1'}, 'aci', None),
    ('an unknown placeholder skips the template', '{name}.{ext}?{whatever}', {}, 'aci', None),
    ('a label called name does not change {name}', '{name}.{ext}', {'name': 'other'}, 'aci', 'example.com/app.aci'),
    ('every occurrence is replaced', '{name}/{version}/{name}-{version}.{ext}', {'version': '2'}, 'aci', 'example.com/app/2/example.com/app-2.aci'),
    ('values are inserted verbatim, without percent-encoding', '{name}-{version}.{ext}', {'version': 'a b/c$&'}, 'aci', 'example.com/app-a b/c$&.aci'),
    ('any label fills its placeholder', 'https://s/{channel}/{name}.{ext}', {'channel': 'beta'}, 'aci', 'https://s/beta/example.com/app.aci'),
]
vs = []
for i, (t, tmpl, labels, ext, o) in enumerate(cases):
    e = {'valid': o is not None}
    if o is not None:
        e['output'] = o
    vs.append({'id': f'disc/template-{i + 1}', 'requirement': 'DISC-006', 'title': t,
               'input': {'template': tmpl, 'name': N, 'labels': labels, 'ext': ext}, 'expect': e, 'source': 'ours'})
total += write('template.json', vs)

# ---- manifest after fetching (DISC-009) ----
lab = lambda **kw: [{'name': k, 'value': v} for k, v in kw.items()]  # noqa: E731
cases = [
    ('same name, every requested label present', {'name': N, 'labels': {'version': '1', 'os': 'linux'}},
     {'name': N, 'labels': lab(version='1', os='linux', arch='amd64')}, []),
    ('manifest labels not requested may have any value', {'name': N, 'labels': {}},
     {'name': N, 'labels': lab(version='9')}, []),
    ('another name', {'name': N, 'labels': {}}, {'name': 'example.com/other', 'labels': []}, ['ERR_DISC_NAME_MISMATCH']),
    ('a requested label with another value', {'name': N, 'labels': {'version': '1'}},
     {'name': N, 'labels': lab(version='2')}, ['ERR_DISC_LABEL_MISMATCH']),
    ('a requested label missing from the manifest', {'name': N, 'labels': {'os': 'linux'}},
     {'name': N, 'labels': lab(version='1')}, ['ERR_DISC_LABEL_MISMATCH']),
    ('name comparison is exact', {'name': N, 'labels': {}}, {'name': N + '/', 'labels': []}, ['ERR_DISC_NAME_MISMATCH']),
]
vs = []
for i, (t, a, m, codes) in enumerate(cases):
    e = {'valid': not codes}
    if codes:
        e['codes'] = codes
    vs.append({'id': f'disc/manifest-match-{i + 1}', 'requirement': 'DISC-009', 'title': t,
               'input': {'app': a, 'manifest': m}, 'expect': e, 'source': 'ours'})
total += write('manifest-match.json', vs)
print('total', total)
