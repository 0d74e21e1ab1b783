// bench: the script each tenant of the density test runs (bench/run puts the
// tenant's name in place of __TENANT__, so no two scripts are the same text).
const TENANT = '__TENANT__';

export default {
  fetch() {
    return new Response('Hello from ' + TENANT);
  },
};
