/*
 * globalThis.__edged_builtin(specifier): the platform modules that edgectl
 * resolves `cloudflare:*` and `node:*` imports to (sdk-js/cli/README.md,
 * "Platform modules").  Returns the module's namespace object, or throws a
 * TypeError naming a module the runtime does not provide.
 */
'use strict';

/* Base class of Durable Object classes: keeps the state and the environment. */
function DurableObject(ctx, env) {
	if (!(this instanceof DurableObject))
		throw new TypeError("Class constructor DurableObject cannot be invoked without 'new'");
	this.ctx = ctx;
	this.env = env;
}

/* Base class of named entrypoints (service bindings, RPC). */
function WorkerEntrypoint(ctx, env) {
	if (!(this instanceof WorkerEntrypoint))
		throw new TypeError("Class constructor WorkerEntrypoint cannot be invoked without 'new'");
	this.ctx = ctx;
	this.env = env;
}

/* Base class of Workflow steps' entrypoints. */
function WorkflowEntrypoint(ctx, env) {
	if (!(this instanceof WorkflowEntrypoint))
		throw new TypeError("Class constructor WorkflowEntrypoint cannot be invoked without 'new'");
	this.ctx = ctx;
	this.env = env;
}

/* Marks a class whose instances may be passed by reference over RPC. */
function RpcTarget() {
	if (!(this instanceof RpcTarget))
		throw new TypeError("Class constructor RpcTarget cannot be invoked without 'new'");
}

/* Module factories by specifier; each namespace is made once, on first import. */
var modules = {};
var made = {};

function namespace(table) {
	var ns = Object.create(null);
	var names = Object.keys(table);
	var i;

	for (i = 0; i < names.length; i++)
		Object.defineProperty(ns, names[i], { value: table[names[i]], enumerable: true });
	Object.defineProperty(ns, Symbol.toStringTag, { value: 'Module' });
	return Object.freeze(ns);
}

modules['cloudflare:workers'] = function () {
	return namespace({
		DurableObject: DurableObject,
		WorkerEntrypoint: WorkerEntrypoint,
		WorkflowEntrypoint: WorkflowEntrypoint,
		RpcTarget: RpcTarget,
		env: rt.env
	});
};

rt.define(globalThis, '__edged_builtin', function (specifier) {
	var name = String(specifier);
	var make = Object.prototype.hasOwnProperty.call(modules, name) ? modules[name] : undefined;

	if (make === undefined)
		throw new TypeError("No such module '" + name + "': edged does not provide it.");
	if (!Object.prototype.hasOwnProperty.call(made, name))
		made[name] = make();
	return made[name];
});
