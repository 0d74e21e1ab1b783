/*
 * Reflect.get/set with a receiver and Reflect.construct with a newTarget,
 * which Duktape answers with "unsupported"; swc's `super.x`, `super.x = v`
 * and class-constructor helpers depend on them.  Runs in the sandbox heap.
 */
'use strict';

var originalGet = Reflect.get;
var originalSet = Reflect.set;
var originalConstruct = Reflect.construct;
var getOwn = Object.getOwnPropertyDescriptor;
var functionToString = Function.prototype.toString;
var isObject = rt.isObject;

function requireObject(x, what) {
	if (!isObject(x))
		throw new TypeError(what + ' called on non-object');
	return x;
}

/* The descriptor of `key` found along the prototype chain of `o`, or undefined. */
function lookup(o, key) {
	var d;

	for (; o !== null; o = Object.getPrototypeOf(o)) {
		d = getOwn(o, key);
		if (d !== undefined)
			return d;
	}
	return undefined;
}

function isAccessor(d) {
	return hasOwnProperty.call(d, 'get') || hasOwnProperty.call(d, 'set');
}
var hasOwnProperty = Object.prototype.hasOwnProperty;

function get(target, key, receiver) {
	var d;

	requireObject(target, 'Reflect.get');
	if (arguments.length < 3 || receiver === target)
		return originalGet(target, key);
	d = lookup(target, key);
	if (d === undefined)
		return undefined;
	if (!isAccessor(d))
		return d.value;
	return d.get === undefined ? undefined : d.get.call(receiver);
}

function set(target, key, value, receiver) {
	var d, own;

	requireObject(target, 'Reflect.set');
	if (arguments.length < 4 || receiver === target)
		return originalSet(target, key, value);
	d = lookup(target, key);
	if (d !== undefined && isAccessor(d)) {
		if (d.set === undefined)
			return false;
		d.set.call(receiver, value);
		return true;
	}
	if (d !== undefined && !d.writable)
		return false;
	if (!isObject(receiver))
		return false;
	own = getOwn(receiver, key);
	if (own !== undefined) {
		if (isAccessor(own) || !own.writable)
			return false;
		return Reflect.defineProperty(receiver, key, { value: value });
	}
	return Reflect.defineProperty(receiver, key,
	    { value: value, writable: true, enumerable: true, configurable: true });
}

function isNative(fn) {
	var src = functionToString.call(fn);

	return src.indexOf('[native code]') !== -1 || src.indexOf('[bound code]') !== -1;
}

/*
 * An approximation of [[Construct]] with a newTarget: ECMAScript functions
 * run with `this` already inheriting from newTarget.prototype (new.target
 * is undefined inside them); native ones build their object and then get
 * newTarget.prototype as its prototype.
 */
function construct(target, args, newTarget) {
	var list, proto, obj, r;

	if (typeof target !== 'function')
		throw new TypeError('Reflect.construct: target is not a constructor');
	if (arguments.length < 3 || newTarget === target)
		return originalConstruct(target, args);
	if (typeof newTarget !== 'function')
		throw new TypeError('Reflect.construct: newTarget is not a constructor');
	list = Array.prototype.slice.call(requireObject(args, 'Reflect.construct'));
	proto = newTarget.prototype;
	if (!isObject(proto))
		proto = isObject(target.prototype) ? target.prototype : Object.prototype;
	if (isNative(target)) {
		obj = new (Function.prototype.bind.apply(target, [null].concat(list)))();
		Object.setPrototypeOf(obj, proto);
		return obj;
	}
	obj = Object.create(proto);
	r = target.apply(obj, list);
	return isObject(r) ? r : obj;
}

rt.define(Reflect, 'get', get);
rt.define(Reflect, 'set', set);
rt.define(Reflect, 'construct', construct);
