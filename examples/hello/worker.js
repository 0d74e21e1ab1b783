// The bundled example tenant: a module worker in the format `edgectl build`
// produces (an ES5 script that defines the global __worker, whose `default`
// export holds the handlers). See README.md, "Script format".
var __worker = (function () {
	function greet(request, env) {
		var url = request.url;
		return env.GREETING + ' from edged! You asked for ' + url + '\n';
	}

	return {
		default: {
			fetch: function (request, env, ctx) {
				if (request.url.indexOf('/json') >= 0) {
					return Promise.resolve(Response.json({
						greeting: env.GREETING,
						method: request.method,
						config: env.CONFIG
					}));
				}
				return new Response(greet(request, env), {
					headers: { 'content-type': 'text/plain; charset=utf-8' }
				});
			}
		}
	};
})();
