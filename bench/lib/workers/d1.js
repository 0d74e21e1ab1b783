// bench: one D1 point query (binding DB; table items of 10,000 rows, rotating id).
let n = 0;

export default {
  fetch(request, env) {
    n = (n % 10000) + 1;
    return env.DB.prepare('SELECT name FROM items WHERE id = ?').bind(n).first('name')
      .then((name) => new Response(name));
  },
};
