// Loads the SDK under Node: see resolve-extensionless.mjs. The SDK does not
// export its client factory, so it is loaded from the package's files.
import { register } from 'node:module';

register('./resolve-extensionless.mjs', import.meta.url);
const pkg = new URL('./node_modules/@opencals/storefront-sdk/dist/', import.meta.url);
const [main, factory] = await Promise.all([
  import('@opencals/storefront-sdk'),
  import(new URL('client/client/index.js', pkg).href),
]);
export const sdk = { ...main, createClient: factory.createClient, createConfig: factory.createConfig };
