/** Every issue code a validator of `@appc/schema` reports, with what it means and what to do. Codes are API:
 * renaming one is a breaking change. Codes starting with `WARN_` are always warnings (`severity: 'warning'`),
 * except `WARN_SCHEMA_ISOLATOR_UNKNOWN` which becomes `ERR_SCHEMA_ISOLATOR_UNKNOWN` in strict mode. */
export const ISSUE_CODES = {
  ERR_SCHEMA_JSON: [
    'the text is not UTF-8 JSON, is nested too deeply, too large, or repeats a member name',
    'fix the JSON syntax or encoding',
  ],
  ERR_SCHEMA_ARGUMENT: [
    'a command-line form (`NAME,key=value,...` for volumes or mount points) is malformed',
    'fix the argument as the message says',
  ],
  ERR_SCHEMA_JSON_SCHEMA: [
    '(validateWithJsonSchema only) the published JSON Schema rejects the document',
    'read the message: it names the keyword and the place',
  ],
  ERR_SCHEMA_TYPE: [
    'a member has the wrong JSON type (string, number, list, object, boolean)',
    'write the type the spec gives',
  ],
  ERR_SCHEMA_REQUIRED: ['a required member is missing', 'add the member'],
  ERR_SCHEMA_AC_IDENTIFIER: [
    'not an AC Identifier (`^[a-z0-9]+([-._~/][a-z0-9]+)*$`; `/~` also joins, as in the spec example `example.com/~user/app_v1`)',
    'use lower-case letters, digits and single separators `-._~/` between them (see `sanitizeAcIdentifier`)',
  ],
  ERR_SCHEMA_AC_NAME: [
    'not an AC Name (`^[a-z0-9]+(-[a-z0-9]+)*$`)',
    'use lower-case letters, digits and single dashes (see `sanitizeAcName`)',
  ],
  ERR_SCHEMA_AC_KIND: [
    'acKind is not `ImageManifest` or `PodManifest`',
    'write one of the two, case-sensitive',
  ],
  ERR_SCHEMA_AC_KIND_MISMATCH: [
    'acKind names the other kind of manifest',
    'read the document with the matching function, or fix acKind',
  ],
  ERR_SCHEMA_AC_VERSION: [
    'acVersion is not a SemVer 2.0.0 version, is 0.0.0, or names no released spec version (0.1.1 .. 0.8.11; pre-releases never were)',
    'write MAJOR.MINOR.PATCH of a release, e.g. `0.8.11`',
  ],
  ERR_SCHEMA_AC_VERSION_NEWER: [
    'acVersion has another major than 0, or is newer than the implemented 0.8.11',
    'write `0.8.11` or an older 0.x version',
  ],
  ERR_SCHEMA_IMAGE_ID: [
    'not an image ID: `sha512-` followed by the 128 hex digits of the digest',
    'write `sha512-` and the 128 hex digits of the SHA-512 of the uncompressed image',
  ],
  WARN_SCHEMA_IMAGE_ID_NOT_FULL: [
    "an image ID with upper-case hex digits, or the spec's placeholder `sha512-...` (accepted, but never matches a stored image)",
    'write the full lower-case digest',
  ],
  ERR_SCHEMA_DUPLICATE_NAME: [
    'two entries of one list share a name that must be unique',
    'remove or rename one of them',
  ],
  ERR_SCHEMA_LABEL_NAME_RESERVED: [
    'a label is called `name`',
    "drop it: the image name is given by the manifest's `name`",
  ],
  ERR_SCHEMA_OS_ARCH: [
    'unknown `os` label, or an `arch` unknown for that os',
    'use a pair of the table `OS_ARCH` (or register the pair with `registerOsArch`)',
  ],
  ERR_SCHEMA_TIMESTAMP: [
    'the `created` annotation is not an RFC 3339 date-time',
    'write e.g. `2014-10-27T19:32:27.67021798Z` (upper-case T, an offset)',
  ],
  ERR_SCHEMA_URL: [
    'the `homepage` or `documentation` annotation is not an http(s) URL',
    'write an absolute `http://` or `https://` URL',
  ],
  WARN_SCHEMA_ANNOTATION_VALUE: [
    '`appc.io/executor/supports-systemd-notify` is neither `"true"` nor `"false"`',
    'write `"true"` or `"false"`',
  ],
  ERR_SCHEMA_ENV_NAME: [
    'an environment variable name does not match `^[A-Za-z_][A-Za-z_0-9.-]*$`',
    'rename the variable',
  ],
  ERR_SCHEMA_UUID: ['not an RFC 4122 UUID', 'write 32 hex digits as `8-4-4-4-12`'],
  ERR_SCHEMA_QUANTITY: [
    'not a resource quantity (number with optional suffix n u m k K M G T P E Ki Mi Gi Ti Pi Ei or e<exp>)',
    'write e.g. `500m`, `1.5Gi`, `100M`',
  ],
  ERR_SCHEMA_RANGE: [
    'a number is outside its range, not an integer, or negative where it must not be',
    'write an integer within the range named in the message',
  ],
  ERR_SCHEMA_PATH_NOT_ABSOLUTE: [
    'a path that must be absolute does not start with `/`',
    'write an absolute path',
  ],
  ERR_SCHEMA_EMPTY: ['a string or list that must not be empty is empty', 'give a value'],
  ERR_SCHEMA_EVENT_HANDLER: [
    'an event handler name is not `pre-start`/`post-stop`, or a handler has no exec',
    'use one of the two names, at most once each, with an `exec` list',
  ],
  ERR_SCHEMA_PORT: [
    'a port number is outside 1..65535, its count below 1, or port+count-1 above 65535',
    'fix the port range',
  ],
  ERR_SCHEMA_IP: [
    'hostIP is not an IPv4 address in dotted-quad notation',
    'write e.g. `127.0.0.1`, or leave hostIP out for every address',
  ],
  ERR_SCHEMA_VOLUME_KIND: [
    'a volume kind is not `host` or `empty`',
    'write `host` (with `source`) or `empty`',
  ],
  WARN_SCHEMA_VOLUME_MEMBER_IGNORED: [
    'a volume member that does not belong to its kind (ignored, as the spec says)',
    'remove it',
  ],
  ERR_SCHEMA_PORT_UNDECLARED: [
    "an exposed port names no port of the pod's apps, has no `podPort`, and every app gives its own `app` object",
    "add the port to an app's `ports`, fix the name, or give the entry a `podPort`",
  ],
  ERR_SCHEMA_VOLUME_UNDECLARED: [
    'a pod app mount names a volume that `volumes` does not declare, and has no `appVolume`',
    'declare the volume, fix the name, or give the mount an `appVolume`',
  ],
  ERR_SCHEMA_ISOLATOR_VALUE: [
    'an isolator value breaks the rules of its kind (ISO-004..ISO-020)',
    'fix the value as the message says',
  ],
  ERR_SCHEMA_ISOLATOR_UNKNOWN: [
    '(strict mode) an app isolator name this implementation does not know',
    'remove it, or validate without `strict`',
  ],
  WARN_SCHEMA_ISOLATOR_UNKNOWN: [
    'an app isolator name this implementation does not know; an executor ignores it',
    'check the spelling, or accept that it will be ignored',
  ],
  ERR_SCHEMA_ISOLATOR_MULTIPLE: [
    'an isolator that may appear once appears several times in one list (an app list, or a pod list for selinux-context, apparmor-profile, sysctl)',
    'keep one',
  ],
  ERR_SCHEMA_ISOLATOR_CONFLICT: [
    'two isolators that exclude each other (the two seccomp sets, or the two capability sets)',
    'keep one of the pair',
  ],
  WARN_SCHEMA_ISOLATOR_SCOPE: [
    'an isolator used where the spec does not define it (app-only at pod level, pod-only in an app)',
    'move it to the right level',
  ],
  WARN_SCHEMA_ISOLATOR_REQUEST_ABOVE_LIMIT: [
    'a resource request is above its limit',
    'lower the request or raise the limit',
  ],
  WARN_SCHEMA_CAPABILITY_UNKNOWN: [
    'a capability name that Linux does not define',
    'check the spelling (`CAP_` + upper case)',
  ],
  WARN_SCHEMA_MOUNT_POINT_DUPLICATE: ['two mount points share a name', 'rename one of them'],
  WARN_SCHEMA_MEMBER_CASE: [
    'a member spelled with other letter case than the spec (the reference reads it, we ignore it)',
    "use the spec's spelling",
  ],
  WARN_SCHEMA_SUPPLEMENTARY_GIDS_SPELLING: [
    'both `supplementaryGIDs` and `supplementaryGids` are present; the first one is used',
    'keep `supplementaryGIDs` only',
  ],
} as const satisfies Record<string, readonly [string, string]>;

/** One of the stable issue codes of {@link ISSUE_CODES}. */
export type IssueCode = keyof typeof ISSUE_CODES;
