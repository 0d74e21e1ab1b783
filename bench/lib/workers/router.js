// bench: workerd only, the density test's front: one socket, each tenant a
// service binding named after the first label of the Host header.
export default {
  fetch(request, env) {
    const name = new URL(request.url).hostname.split('.')[0];
    if (name === 'router') return new Response('router');
    const tenant = env[name];
    return tenant ? tenant.fetch(request) : new Response('no such tenant', { status: 404 });
  },
};
