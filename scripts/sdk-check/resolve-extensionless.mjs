// The SDK's ESM build imports its own files without extensions ("./client/
// index"), which bundlers accept and Node does not. This resolve hook
// retries such relative imports with ".js" and "/index.js".
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    const retry = ['ERR_MODULE_NOT_FOUND', 'ERR_UNSUPPORTED_DIR_IMPORT'].includes(err.code);
    if (!retry || !specifier.startsWith('.')) throw err;
    for (const suffix of ['.js', '/index.js']) {
      try {
        return await next(specifier + suffix, context);
      } catch {
        // try the next suffix
      }
    }
    throw err;
  }
}
