// bench: fib(25), recursive; CPU in the engine only.  The line defining fib
// is also what bench/run gives the raw Duktape engine (bench/lib/dukfib.c).
function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

export default {
  fetch() {
    return new Response(String(fib(25)));
  },
};
