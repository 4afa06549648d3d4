// Writes the field lists the sandbox's Go tests check its answers against:
// one file per endpoint, one line per JSON path with its type, nullability
// and presence, read from the SDK's runtime (zod) schemas.
//
//   npm install && node fieldlist.mjs
import fs from 'node:fs';
import path from 'node:path';
import { sdk } from './sdk.mjs';

const version = JSON.parse(fs.readFileSync(
  new URL('./node_modules/@opencals/storefront-sdk/package.json', import.meta.url))).version;
const outDir = new URL('../../opencals/sandbox/testdata/fields/', import.meta.url);

const endpoints = {
  'sign-in': 'zAuthSignInResponse',
  'refresh': 'zAuthRefreshResponse',
  'appointments-list': 'zAppointmentListResponse',
  'appointments-get': 'zAppointmentFindResponse',
  'orders-list': 'zOrderListResponse',
  'orders-get': 'zOrderFindResponse',
  'products-list': 'zProductListResponse',
  'staff-members-list': 'zStaffMemberListResponse',
  'locations-list': 'zLocationListResponse',
};

// unwrap strips the wrappers that only change nullability or presence.
function unwrap(schema) {
  let t = schema, nullable = false, optional = false;
  for (;;) {
    const kind = t._def.typeName;
    if (kind === 'ZodNullable') { nullable = true; t = t._def.innerType; continue; }
    if (kind === 'ZodOptional' || kind === 'ZodDefault') {
      optional = true; t = t._def.innerType; continue;
    }
    if (kind === 'ZodLazy') { t = t._def.getter(); continue; }
    if (kind === 'ZodEffects') { t = t._def.schema; continue; }
    if (kind === 'ZodUnion') {
      const rest = t._def.options.filter((o) => o._def.typeName !== 'ZodNull');
      if (rest.length < t._def.options.length) nullable = true;
      if (rest.length === 1) { t = rest[0]; continue; }
    }
    return { t, nullable, optional };
  }
}

function jsonType(t) {
  switch (t._def.typeName) {
    case 'ZodString': case 'ZodEnum': case 'ZodNativeEnum': return 'string';
    case 'ZodNumber': return 'number';
    case 'ZodBoolean': return 'boolean';
    case 'ZodObject': case 'ZodRecord': return 'object';
    case 'ZodArray': return 'array';
    case 'ZodLiteral': return typeof t._def.value;
    default: return 'any';
  }
}

function walk(schema, at, out) {
  const { t, nullable, optional } = unwrap(schema);
  const type = jsonType(t);
  out.push([at, type, nullable ? 'nullable' : 'non-null', optional ? 'optional' : 'required']
    .join('\t'));
  if (t._def.typeName === 'ZodObject') {
    for (const [key, child] of Object.entries(t.shape)) walk(child, `${at}.${key}`, out);
  } else if (type === 'array') {
    walk(t._def.type, `${at}[]`, out);
  }
}

fs.mkdirSync(outDir, { recursive: true });
for (const [name, schemaName] of Object.entries(endpoints)) {
  const lines = [
    `# ${name}: fields of ${schemaName} from @opencals/storefront-sdk ${version}`,
    '# (dist/client/zod.gen.js), written by scripts/sdk-check/fieldlist.mjs.',
    '# path\ttype\tnullability\tpresence',
  ];
  walk(sdk[schemaName], '$', lines);
  fs.writeFileSync(path.join(outDir.pathname, `${name}.tsv`), lines.join('\n') + '\n');
}
console.log(`wrote ${Object.keys(endpoints).length} field lists to ${outDir.pathname}`);
