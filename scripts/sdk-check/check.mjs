// Fetches every endpoint the daemon uses from a running sandbox through the
// official SDK's client and validates each answer with the SDK's runtime
// (zod) schemas. Start a sandbox first:
//
//   go run ./cmd/opencals-sync sandbox --listen 127.0.0.1:8787 &
//   cd scripts/sdk-check && npm install && node check.mjs [base URL]
//
// It exits 1 when any answer fails its schema.
import { sdk } from './sdk.mjs';

const baseUrl = process.argv[2] ?? process.env.SANDBOX_URL ?? 'http://127.0.0.1:8787';
const apiKey = process.env.SANDBOX_API_KEY ?? 'sfk_test';
const email = process.env.SANDBOX_EMAIL ?? 'customer1@example.test';
const password = process.env.SANDBOX_PASSWORD ?? 'sandbox-password';

let failures = 0;

function check(name, schema, data) {
  const result = sdk[schema].safeParse(data);
  if (result.success) {
    console.log(`ok    ${name}`);
    return;
  }
  failures++;
  console.log(`FAIL  ${name}`);
  for (const issue of result.error.issues.slice(0, 10)) {
    console.log(`      ${issue.path.join('.')}: ${issue.message}`);
  }
}

// client makes a separate SDK client, so customer tokens never leak into
// the store-scoped calls.
function client(token) {
  const c = sdk.createClient(sdk.createConfig({ baseUrl, throwOnError: true }));
  c.interceptors.request.use((req) => {
    req.headers.set('X-Api-Key', apiKey);
    if (token) req.headers.set('Authorization', `Bearer ${token}`);
  });
  return c;
}

const store = client();
const { data: tokens } = await sdk.AuthService.signIn({
  client: store, body: { email, password, tokenName: 'sdk-check' },
});
check('POST /storefront/auth/sign-in', 'zAuthSignInResponse', tokens);

const { data: refreshed } = await sdk.AuthService.refresh({ client: client(tokens.refreshToken) });
check('GET /storefront/auth/refresh', 'zAuthRefreshResponse', refreshed);

const me = client(refreshed.accessToken);
const { data: appts } = await sdk.AppointmentService.list({
  client: me, query: { take: 100, status: ['scheduled', 'completed', 'canceled'] },
});
check('GET /storefront/appointments', 'zAppointmentListResponse', appts);
if (appts.data.some((a) => a.status === 'pending')) {
  failures++;
  console.log('FAIL  status filter sent as an array by the SDK was not applied');
}
const { data: appt } = await sdk.AppointmentService.find({
  client: me, path: { appointmentId: appts.data[0].id },
});
check('GET /storefront/appointments/{id}', 'zAppointmentFindResponse', appt);

const { data: orders } = await sdk.OrderService.list({
  client: me, query: { take: 100, paymentStatuses: ['paid', 'partially-paid', 'unpaid'] },
});
check('GET /storefront/orders', 'zOrderListResponse', orders);
for (const o of orders.data) {
  const { data: order } = await sdk.OrderService.find({ client: me, path: { orderId: o.id } });
  check(`GET /storefront/orders/{id} (${order.paymentStatus}, ${order.refundStatus})`,
    'zOrderFindResponse', order);
}

check('GET /storefront/products', 'zProductListResponse',
  (await sdk.ProductService.list({ client: store })).data);
check('GET /storefront/staff-members', 'zStaffMemberListResponse',
  (await sdk.StaffMemberService.list({ client: store })).data);
check('GET /storefront/locations', 'zLocationListResponse',
  (await sdk.LocationService.list({ client: store })).data);

// A validation failure must reach the SDK's error handler as field errors.
const bad = client(refreshed.accessToken);
bad.interceptors.response.use(sdk.errorHandlerInterceptor);
try {
  await sdk.AppointmentService.list({ client: bad, query: { take: 101 } });
  failures++;
  console.log('FAIL  take=101 was accepted');
} catch (err) {
  const fields = err.toFieldErrors?.() ?? {};
  if (err.status === 400 && fields.take) {
    console.log(`ok    400 validation error (take: ${fields.take})`);
  } else {
    failures++;
    console.log(`FAIL  take=101 answered ${err.status} ${err.message}`);
  }
}

console.log(failures === 0 ? 'all answers match the SDK schemas' : `${failures} failure(s)`);
process.exit(failures === 0 ? 0 : 1);
