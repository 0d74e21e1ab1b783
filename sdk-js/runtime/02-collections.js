/*
 * Map, Set, WeakMap and WeakSet with spec semantics (insertion order,
 * SameValueZero, iteration that survives mutation).  Runs in the sandbox heap.
 */
'use strict';

/* Captured now: later parts may reuse these rt names for their own helpers. */
var builtinIteratorPrototype = rt.builtinIteratorPrototype, builtinIterator = rt.builtinIterator;
var iterResult = rt.iterResult, forOf = rt.forOf, isObject = rt.isObject;

var MAP = native.hidden('map');
var SET = native.hidden('set');
var OBJECT_ID = native.hidden('objectId');
var nextObjectId = 1;
var weakCount = 0;

/*
 * The value of a hidden own property, or undefined.  Read through the own
 * descriptor, never [[Get]]: on a proxy, a hidden key lives on the proxy
 * object itself while [[Get]] would read the target's.
 */
function ownHidden(obj, key) {
	var d = Object.getOwnPropertyDescriptor(obj, key);

	return d === undefined ? undefined : d.value;
}

/*
 * Stamps a hidden, non-enumerable property on an object.  Returns false when
 * the object does not keep it (non-extensible objects): callers then fall
 * back to a list searched linearly.
 */
function stamp(obj, key, value) {
	try {
		Object.defineProperty(obj, key, { value: value, writable: true });
	} catch (e) {
		return false;
	}
	return ownHidden(obj, key) === value;
}

/* The hidden identity of an object, created on first use; 0 when it cannot hold one. */
function objectId(obj) {
	var id = ownHidden(obj, OBJECT_ID);

	if (typeof id === 'number')
		return id;
	id = nextObjectId++;
	return stamp(obj, OBJECT_ID, id) ? id : 0;
}

/*
 * The table behind a Map or Set: a doubly linked list of entries in insertion
 * order, headed by a sentinel that is never removed, and indexes from keys to
 * entries.  A removed entry keeps its `prev` link, so an iterator parked on it
 * walks back to the nearest live entry and continues from there.
 */
function Table() {
	this.head = { key: undefined, value: undefined, next: null, prev: null, removed: false };
	this.tail = this.head;
	this.size = 0;
	this.index = Object.create(null);
	this.symbols = Object.create(null);
	this.others = [];
}

function primitiveKey(k) {
	switch (typeof k) {
	case 'string':
		return 's' + k;
	case 'number':
		return 'n' + String(k);
	case 'boolean':
		return k ? 't' : 'f';
	case 'undefined':
		return 'u';
	default:
		return k === null ? 'l' : null;
	}
}

/* The entry for key k, or null. */
Table.prototype.find = function (k) {
	var pk, id, i;

	if (typeof k === 'symbol')
		return this.symbols[k] || null;
	pk = primitiveKey(k);
	if (pk !== null)
		return this.index[pk] || null;
	id = ownHidden(k, OBJECT_ID);
	if (typeof id === 'number')
		return this.index['o' + id] || null;
	for (i = 0; i < this.others.length; i++) {
		if (this.others[i].key === k)
			return this.others[i];
	}
	return null;
};

Table.prototype.set = function (k, v) {
	var e = this.find(k);
	var pk, id;

	if (e !== null) {
		e.value = v;
		return;
	}
	if (k === 0)
		k = 0;	/* -0 becomes +0 */
	e = { key: k, value: v, next: null, prev: this.tail, removed: false };
	this.tail.next = e;
	this.tail = e;
	this.size++;
	if (typeof k === 'symbol') {
		this.symbols[k] = e;
		return;
	}
	pk = primitiveKey(k);
	if (pk !== null) {
		this.index[pk] = e;
		return;
	}
	id = objectId(k);
	if (id !== 0)
		this.index['o' + id] = e;
	else
		this.others.push(e);
};

Table.prototype.unindex = function (e) {
	var k = e.key;
	var pk, i, id;

	if (typeof k === 'symbol') {
		delete this.symbols[k];
		return;
	}
	pk = primitiveKey(k);
	if (pk === null && typeof (id = ownHidden(k, OBJECT_ID)) === 'number')
		pk = 'o' + id;
	if (pk !== null) {
		delete this.index[pk];
		return;
	}
	i = this.others.indexOf(e);
	if (i !== -1)
		this.others.splice(i, 1);
};

Table.prototype.remove = function (k) {
	var e = this.find(k);

	if (e === null)
		return false;
	this.unindex(e);
	e.removed = true;
	e.prev.next = e.next;
	if (e.next !== null)
		e.next.prev = e.prev;
	else
		this.tail = e.prev;
	e.key = e.value = undefined;
	this.size--;
	return true;
};

Table.prototype.clear = function () {
	var e;

	for (e = this.head.next; e !== null; e = e.next) {
		e.removed = true;
		e.prev = this.head;
		e.key = e.value = undefined;
	}
	this.head.next = null;
	this.tail = this.head;
	this.size = 0;
	this.index = Object.create(null);
	this.symbols = Object.create(null);
	this.others = [];
};

/* The live entry after `e` (an entry of this table, possibly removed), or null. */
function after(e) {
	while (e.removed)
		e = e.prev;
	return e.next;
}

Table.prototype.forEach = function (fn) {
	var e = this.head;

	while ((e = after(e)) !== null)
		fn(e);
};

function tableOf(obj, slot, what) {
	var t = isObject(obj) ? obj[slot] : undefined;

	if (!(t instanceof Table))
		throw new TypeError(what + ' called on an incompatible receiver');
	return t;
}

var KEYS = 0, VALUES = 1, ENTRIES = 2;

function tableIterator(tag) {
	return builtinIteratorPrototype(tag, function (st) {
		var e;

		if (st.entry === null)
			return iterResult(undefined, true);
		e = after(st.entry);
		st.entry = e;
		if (e === null)
			return iterResult(undefined, true);
		if (st.kind === KEYS)
			return iterResult(e.key, false);
		if (st.kind === VALUES)
			return iterResult(e.value, false);
		return iterResult([e.key, e.value], false);
	});
}
var MapIteratorPrototype = tableIterator('Map Iterator');
var SetIteratorPrototype = tableIterator('Set Iterator');

function iteratorMethod(slot, proto, tag, kind, what) {
	return function () {
		var t = tableOf(this, slot, what);

		return builtinIterator(proto, { tag: tag, entry: t.head, kind: kind });
	};
}

/* Checks `this` for a constructor that swc may call through apply(): new, or a fresh subclass instance. */
function constructing(self, C, slot, name) {
	if (!(self instanceof C) || Object.prototype.hasOwnProperty.call(self, slot))
		throw new TypeError("Constructor " + name + " requires 'new'");
	Object.defineProperty(self, slot, { value: new Table() });
}

function Map(iterable) {
	var self = this;
	var adder;

	constructing(this, Map, MAP, 'Map');
	if (iterable === undefined || iterable === null)
		return;
	adder = this.set;
	if (typeof adder !== 'function')
		throw new TypeError("'set' of the Map is not a function");
	forOf(iterable, function (entry) {
		if (!isObject(entry))
			throw new TypeError('iterator value ' + String(entry) + ' is not an entry object');
		adder.call(self, entry[0], entry[1]);
	});
}

rt.methods(Map.prototype, {
	get: function get(k) {
		var e = tableOf(this, MAP, 'Map.prototype.get').find(k);

		return e === null ? undefined : e.value;
	},
	set: function set(k, v) {
		tableOf(this, MAP, 'Map.prototype.set').set(k, v);
		return this;
	},
	has: function has(k) {
		return tableOf(this, MAP, 'Map.prototype.has').find(k) !== null;
	},
	'delete': function (k) {
		return tableOf(this, MAP, 'Map.prototype.delete').remove(k);
	},
	clear: function clear() {
		tableOf(this, MAP, 'Map.prototype.clear').clear();
	},
	forEach: function forEach(fn, thisArg) {
		var self = this;
		var t = tableOf(this, MAP, 'Map.prototype.forEach');

		if (typeof fn !== 'function')
			throw new TypeError('Map.prototype.forEach: callback is not a function');
		t.forEach(function (e) { fn.call(thisArg, e.value, e.key, self); });
	},
	keys: iteratorMethod(MAP, MapIteratorPrototype, 'Map Iterator', KEYS, 'Map.prototype.keys'),
	values: iteratorMethod(MAP, MapIteratorPrototype, 'Map Iterator', VALUES, 'Map.prototype.values'),
	entries: iteratorMethod(MAP, MapIteratorPrototype, 'Map Iterator', ENTRIES, 'Map.prototype.entries')
});
Object.defineProperty(Map.prototype, 'size', {
	get: function () { return tableOf(this, MAP, 'Map.prototype.size').size; },
	configurable: true
});
rt.define(Map.prototype, Symbol.iterator, Map.prototype.entries);
Object.defineProperty(Map.prototype, Symbol.toStringTag, { value: 'Map', configurable: true });

function Set(iterable) {
	var self = this;
	var adder;

	constructing(this, Set, SET, 'Set');
	if (iterable === undefined || iterable === null)
		return;
	adder = this.add;
	if (typeof adder !== 'function')
		throw new TypeError("'add' of the Set is not a function");
	forOf(iterable, function (v) { adder.call(self, v); });
}

rt.methods(Set.prototype, {
	add: function add(v) {
		var t = tableOf(this, SET, 'Set.prototype.add');

		if (t.find(v) === null)
			t.set(v, v);
		return this;
	},
	has: function has(v) {
		return tableOf(this, SET, 'Set.prototype.has').find(v) !== null;
	},
	'delete': function (v) {
		return tableOf(this, SET, 'Set.prototype.delete').remove(v);
	},
	clear: function clear() {
		tableOf(this, SET, 'Set.prototype.clear').clear();
	},
	forEach: function forEach(fn, thisArg) {
		var self = this;
		var t = tableOf(this, SET, 'Set.prototype.forEach');

		if (typeof fn !== 'function')
			throw new TypeError('Set.prototype.forEach: callback is not a function');
		t.forEach(function (e) { fn.call(thisArg, e.key, e.key, self); });
	},
	values: iteratorMethod(SET, SetIteratorPrototype, 'Set Iterator', VALUES, 'Set.prototype.values'),
	entries: iteratorMethod(SET, SetIteratorPrototype, 'Set Iterator', ENTRIES, 'Set.prototype.entries')
});
rt.define(Set.prototype, 'keys', Set.prototype.values);
Object.defineProperty(Set.prototype, 'size', {
	get: function () { return tableOf(this, SET, 'Set.prototype.size').size; },
	configurable: true
});
rt.define(Set.prototype, Symbol.iterator, Set.prototype.values);
Object.defineProperty(Set.prototype, Symbol.toStringTag, { value: 'Set', configurable: true });

/*
 * WeakMap and WeakSet.  Duktape has no weak references, so each instance
 * owns a unique hidden key and keeps its value *on the key object*: an entry
 * lives exactly as long as its key, and the collection holds no key alive.
 * What is not weak: a dropped WeakMap's values live on until their keys go,
 * and keys that cannot take a hidden property (frozen, sealed or
 * non-extensible objects) are kept in a plain list, strongly.
 */
var WEAK_MAP = native.hidden('weakMap');
var WEAK_SET = native.hidden('weakSet');

function WeakState() {
	this.key = native.hidden('weak' + (++weakCount));
	this.strong = [];	/* [key, value] pairs of keys that cannot be stamped */
}

WeakState.prototype.slot = function (k) {
	var s = ownHidden(k, this.key);
	var i;

	if (s !== undefined)
		return s;
	for (i = 0; i < this.strong.length; i++) {
		if (this.strong[i].key === k)
			return this.strong[i];
	}
	return null;
};

WeakState.prototype.set = function (k, v) {
	var s = this.slot(k);

	if (s !== null && s.present) {
		s.value = v;
		return;
	}
	if (s !== null) {
		s.present = true;
		s.value = v;
		return;
	}
	s = { key: k, value: v, present: true };
	if (!stamp(k, this.key, s))
		this.strong.push(s);
};

WeakState.prototype.remove = function (k) {
	var s = this.slot(k);
	var i;

	if (s === null || !s.present)
		return false;
	s.present = false;
	s.value = undefined;
	i = this.strong.indexOf(s);
	if (i !== -1)
		this.strong.splice(i, 1);
	return true;
};

function weakOf(obj, slot, what) {
	var st = isObject(obj) ? obj[slot] : undefined;

	if (!(st instanceof WeakState))
		throw new TypeError(what + ' called on an incompatible receiver');
	return st;
}

function requireKey(k, what) {
	if (!isObject(k))
		throw new TypeError(what + ': invalid value used as weak key');
	return k;
}

function WeakMap(iterable) {
	var self = this;
	var adder;

	if (!(this instanceof WeakMap) || Object.prototype.hasOwnProperty.call(this, WEAK_MAP))
		throw new TypeError("Constructor WeakMap requires 'new'");
	Object.defineProperty(this, WEAK_MAP, { value: new WeakState() });
	if (iterable === undefined || iterable === null)
		return;
	adder = this.set;
	forOf(iterable, function (entry) {
		if (!isObject(entry))
			throw new TypeError('iterator value ' + String(entry) + ' is not an entry object');
		adder.call(self, entry[0], entry[1]);
	});
}

rt.methods(WeakMap.prototype, {
	get: function get(k) {
		var st = weakOf(this, WEAK_MAP, 'WeakMap.prototype.get');
		var s = isObject(k) ? st.slot(k) : null;

		return s !== null && s.present ? s.value : undefined;
	},
	set: function set(k, v) {
		weakOf(this, WEAK_MAP, 'WeakMap.prototype.set').set(requireKey(k, 'WeakMap.prototype.set'), v);
		return this;
	},
	has: function has(k) {
		var st = weakOf(this, WEAK_MAP, 'WeakMap.prototype.has');
		var s = isObject(k) ? st.slot(k) : null;

		return s !== null && s.present;
	},
	'delete': function (k) {
		var st = weakOf(this, WEAK_MAP, 'WeakMap.prototype.delete');

		return isObject(k) ? st.remove(k) : false;
	}
});
Object.defineProperty(WeakMap.prototype, Symbol.toStringTag, { value: 'WeakMap', configurable: true });

/* A WeakSet is a WeakMap whose values are all true, behind its own prototype. */
function WeakSet(iterable) {
	var self = this;
	var adder;

	if (!(this instanceof WeakSet) || Object.prototype.hasOwnProperty.call(this, WEAK_SET))
		throw new TypeError("Constructor WeakSet requires 'new'");
	Object.defineProperty(this, WEAK_SET, { value: new WeakState() });
	if (iterable === undefined || iterable === null)
		return;
	adder = this.add;
	forOf(iterable, function (v) { adder.call(self, v); });
}

function weakSetOf(obj, what) {
	return weakOf(obj, WEAK_SET, what);
}

rt.methods(WeakSet.prototype, {
	add: function add(v) {
		weakSetOf(this, 'WeakSet.prototype.add').set(requireKey(v, 'WeakSet.prototype.add'), true);
		return this;
	},
	has: function has(v) {
		var st = weakSetOf(this, 'WeakSet.prototype.has');
		var s = isObject(v) ? st.slot(v) : null;

		return s !== null && s.present;
	},
	'delete': function (v) {
		var st = weakSetOf(this, 'WeakSet.prototype.delete');

		return isObject(v) ? st.remove(v) : false;
	}
});
Object.defineProperty(WeakSet.prototype, Symbol.toStringTag, { value: 'WeakSet', configurable: true });

rt.Map = Map;
rt.Set = Set;
if (typeof globalThis.Map !== 'function')
	rt.define(globalThis, 'Map', Map);
if (typeof globalThis.Set !== 'function')
	rt.define(globalThis, 'Set', Set);
if (typeof globalThis.WeakMap !== 'function')
	rt.define(globalThis, 'WeakMap', WeakMap);
if (typeof globalThis.WeakSet !== 'function')
	rt.define(globalThis, 'WeakSet', WeakSet);
