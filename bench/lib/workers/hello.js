// bench: hello world.
export default {
  fetch() {
    return new Response('Hello, world!');
  },
};
