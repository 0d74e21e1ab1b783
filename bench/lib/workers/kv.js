// bench: one KV read of a 13-byte value (binding KV, key "greeting").
export default {
  fetch(request, env) {
    return env.KV.get('greeting').then((value) => new Response(value));
  },
};
