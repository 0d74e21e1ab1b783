/*
 * Named capture groups in RegExps built at run time (`new RegExp('(?<id>x)')`,
 * `m.groups`, `$<id>`), which Duktape's regexp compiler rejects.  RegExp
 * becomes a thin function in front of the native constructor: a pattern
 * with `(?<name>` is compiled without its names, which are kept on the
 * object under a hidden key; every other pattern is the native constructor's
 * business.  RegExp.prototype stays the same object.  Runs in the sandbox
 * heap after 01-04 (rt.isObject, rt.toLength, the Reflect.construct fix).
 */
'use strict';

var NativeRegExp = globalThis.RegExp;
var RegExpPrototype = NativeRegExp.prototype;
var nativeExec = RegExpPrototype.exec;
var sourceDescriptor = Object.getOwnPropertyDescriptor(RegExpPrototype, 'source');
var nativeSource = sourceDescriptor.get;
var nativeFlags = Object.getOwnPropertyDescriptor(RegExpPrototype, 'flags').get;
var nativeMatch = String.prototype.match;
var nativeReplace = String.prototype.replace;
var nativeSearch = String.prototype.search;
var nativeSplit = String.prototype.split;
var toString = Object.prototype.toString;
var isObject = rt.isObject, toLength = rt.toLength, toInteger = rt.toInteger;

/*
 * On a RegExp with named groups: { source (as the getter shows it), original,
 * stripped (without the names), names: [name], indices: [group number] }.
 */
var GROUPS = native.hidden('regexpGroups');

/* A group name: an identifier (escapes in names are not supported). */
var GROUP_NAME = /^[A-Za-z_$\u00aa-\uffff][\w$\u00aa-\uffff\u200c\u200d]*$/;

/* A real RegExp object (a Proxy is not one, so its traps never see GROUPS). */
function isRegExp(x) {
	return isObject(x) && toString.call(x) === '[object RegExp]';
}

function groupsOf(re) {
	return isRegExp(re) ? re[GROUPS] : undefined;
}

function patternError(source, what) {
	return new SyntaxError('Invalid regular expression: /' + source + '/: ' + what);
}

/*
 * `source` without its group names ({ source, names, indices }), or null when
 * it has no named group.  `\k<name>` becomes a numbered reference.
 * Lookbehind, which Duktape lacks, is a SyntaxError that says so.
 */
function stripNames(source) {
	var out = '', names = [], indices = [], refs = [], count = 0, inClass = false;
	var i, c, end, name, n;

	for (i = 0; i < source.length; i++) {
		c = source.charAt(i);
		if (c === '\\') {
			if (!inClass && source.charAt(i + 1) === 'k' && source.charAt(i + 2) === '<' &&
			    (end = source.indexOf('>', i + 3)) !== -1) {
				refs.push({ at: out.length, name: source.slice(i + 3, end) });
				i = end;
				continue;
			}
			out += source.substr(i, 2);
			i++;
			continue;
		}
		if (inClass) {
			if (c === ']')
				inClass = false;
		} else if (c === '[') {
			inClass = true;
		} else if (c === '(' && source.charAt(i + 1) !== '?') {
			count++;
		} else if (c === '(' && source.charAt(i + 2) === '<') {
			n = source.charAt(i + 3);
			if (n === '=' || n === '!')
				throw patternError(source,
				    "lookbehind assertions are not supported by edged's JavaScript engine");
			end = source.indexOf('>', i + 3);
			name = end === -1 ? '' : source.slice(i + 3, end);
			if (!GROUP_NAME.test(name))
				throw patternError(source, 'invalid capture group name');
			if (names.indexOf(name) !== -1)
				throw patternError(source, "duplicate capture group name '" + name + "'");
			names.push(name);
			indices.push(++count);
			out += '(';
			i = end;
			continue;
		}
		out += c;
	}
	if (names.length === 0)
		return null;
	/* From the end, so that earlier insertion points stay valid. */
	for (i = refs.length - 1; i >= 0; i--) {
		n = names.indexOf(refs[i].name);
		if (n === -1)
			throw patternError(source, "no capture group named '" + refs[i].name + "'");
		out = out.slice(0, refs[i].at) + '(?:\\' + indices[n] + ')' + out.slice(refs[i].at);
	}
	return { source: out, names: names, indices: indices };
}

/* `source` as RegExp.prototype.source shows it: with its slashes escaped. */
function escapeSource(source) {
	var out = '', i, c;

	for (i = 0; i < source.length; i++) {
		c = source.charAt(i);
		if (c === '\\') {
			out += source.substr(i, 2);
			i++;
		} else {
			out += c === '/' ? '\\/' : c;
		}
	}
	return out;
}

/* A named function expression: `RegExp` inside is this function, outside the global. */
var RegExpConstructor = function RegExp(pattern, flags) {
	var proto = null, info, source, stripped, re;

	if (new.target !== undefined) {
		proto = new.target.prototype;
	} else if (isObject(this) && !isRegExp(this) && this instanceof RegExp) {
		/* Constructed by the Reflect.construct of 04-reflect.js (a subclass). */
		proto = Object.getPrototypeOf(this);
	} else if (isRegExp(pattern) && flags === undefined && pattern.constructor === RegExp) {
		return pattern;
	}
	info = groupsOf(pattern);
	if (info !== undefined) {
		source = info.original;
		if (flags === undefined)
			flags = nativeFlags.call(pattern);
	} else if (isRegExp(pattern)) {
		source = null;
	} else if (typeof pattern === 'symbol') {
		throw new TypeError('cannot convert a Symbol to a RegExp pattern');
	} else {
		source = pattern === undefined ? '' : String(pattern);
	}
	stripped = source !== null && source.indexOf('(?<') !== -1 ? stripNames(source) : null;
	if (stripped !== null) {
		re = new NativeRegExp(stripped.source, flags);
		re[GROUPS] = { source: escapeSource(source), original: source, stripped: stripped.source,
		    names: stripped.names, indices: stripped.indices };
	} else {
		re = new NativeRegExp(source === null ? pattern : source, flags);
	}
	if (proto !== null && proto !== RegExpPrototype)
		Object.setPrototypeOf(re, isObject(proto) ? proto : RegExpPrototype);
	return re;
};
Object.defineProperty(RegExpConstructor, 'prototype',
    { value: RegExpPrototype, writable: false, enumerable: false, configurable: false });
rt.define(RegExpPrototype, 'constructor', RegExpConstructor);
rt.define(globalThis, 'RegExp', RegExpConstructor);

/* The groups object of match `m` of a RegExp with named groups. */
function groupsObject(m, info) {
	var groups = Object.create(null), i;

	for (i = 0; i < info.names.length; i++)
		groups[info.names[i]] = m[info.indices[i]];
	return groups;
}

rt.define(RegExpPrototype, 'exec', function exec(string) {
	var m = nativeExec.call(this, string), info;

	if (m !== null && (info = groupsOf(this)) !== undefined)
		m.groups = groupsObject(m, info);
	return m;
});
var builtinExec = RegExpPrototype.exec;

Object.defineProperty(RegExpPrototype, 'source', {
	get: function source() {
		var info = groupsOf(this);

		return info !== undefined ? info.source : nativeSource.call(this);
	},
	enumerable: sourceDescriptor.enumerable,
	configurable: sourceDescriptor.configurable
});

/*
 * Duktape's search and split compile a copy of their RegExp from its
 * `source`, which shows the names (here, and in swc's wrapper of named-group
 * literals): they get a copy without them.
 */
function withoutNames(re) {
	var info, source, stripped;

	if (!isRegExp(re))
		return re;
	info = re[GROUPS];
	if (info !== undefined)
		return new NativeRegExp(info.stripped, nativeFlags.call(re));
	source = re.source;
	stripped = typeof source === 'string' && source.indexOf('(?<') !== -1 ? stripNames(source) : null;
	return stripped === null ? re : new NativeRegExp(stripped.source, nativeFlags.call(re));
}

rt.define(String.prototype, 'search', function search(regexp) {
	return nativeSearch.call(this, withoutNames(regexp));
});

rt.define(String.prototype, 'split', function split(separator, limit) {
	return nativeSplit.call(this, withoutNames(separator), limit);
});

/*
 * String.prototype.match and replace go by the spec's RegExp algorithms
 * (through `exec`, so results carry `groups`) for a RegExp with named groups
 * or with an `exec` of its own, such as swc's wrapper of named-group
 * literals.  Every other call is the native method's.
 */
function usesExec(re) {
	return isRegExp(re) && (re[GROUPS] !== undefined || re.exec !== builtinExec);
}

function thisString(x, what) {
	if (x === null || x === undefined)
		throw new TypeError('String.prototype.' + what + ' called on null or undefined');
	return String(x);
}

function regExpExec(re, s) {
	var exec = re.exec, result;

	if (typeof exec !== 'function')
		return builtinExec.call(re, s);
	result = exec.call(re, s);
	if (result !== null && !isObject(result))
		throw new TypeError('RegExp exec method returned something other than an Object or null');
	return result;
}

/* Every match of `re` in `s` (one unless global), moving past empty ones. */
function allMatches(re, s) {
	var results = [], global = re.global, m;

	if (global)
		re.lastIndex = 0;
	while ((m = regExpExec(re, s)) !== null) {
		results.push(m);
		if (!global)
			break;
		if (String(m[0]) === '')
			re.lastIndex = toLength(re.lastIndex) + 1;
	}
	return results;
}

/* GetSubstitution: `$$ $& $\` $' $n $nn $<name>` in `template`. */
function substitute(matched, s, position, captures, groups, template) {
	var out = '', i = 0, m = captures.length, c, d, n, end, v;

	for (;;) {
		c = template.indexOf('$', i);
		if (c === -1 || c === template.length - 1)
			return out + template.slice(i);
		out += template.slice(i, c);
		d = template.charAt(c + 1);
		i = c + 2;
		if (d === '$') {
			out += '$';
		} else if (d === '&') {
			out += matched;
		} else if (d === '`') {
			out += s.slice(0, position);
		} else if (d === '\'') {
			out += s.slice(Math.min(position + matched.length, s.length));
		} else if (d >= '0' && d <= '9') {
			n = Number(d + template.charAt(i));
			if (template.charAt(i) >= '0' && template.charAt(i) <= '9' && n >= 1 && n <= m) {
				i++;
			} else {
				n = Number(d);
			}
			if (n >= 1 && n <= m) {
				v = captures[n - 1];
				out += v === undefined ? '' : v;
			} else {
				out += '$' + d;
			}
		} else if (d === '<' && groups !== undefined && (end = template.indexOf('>', i)) !== -1) {
			v = groups[template.slice(i, end)];
			out += v === undefined ? '' : String(v);
			i = end + 1;
		} else {
			out += '$' + d;
		}
	}
}

function regExpReplace(re, s, replaceValue) {
	var functional = typeof replaceValue === 'function', results, out = '', next = 0;
	var i, k, m, matched, position, captures, groups, replacement, args;

	if (!functional)
		replaceValue = String(replaceValue);
	results = allMatches(re, s);
	for (i = 0; i < results.length; i++) {
		m = results[i];
		matched = String(m[0]);
		position = Math.max(Math.min(toInteger(m.index), s.length), 0);
		captures = [];
		for (k = 1; k < toLength(m.length); k++)
			captures.push(m[k] === undefined ? undefined : String(m[k]));
		groups = m.groups;
		if (functional) {
			args = [matched].concat(captures, [position, s]);
			if (groups !== undefined)
				args.push(groups);
			replacement = String(replaceValue.apply(undefined, args));
		} else {
			replacement = substitute(matched, s, position, captures,
			    groups === undefined ? undefined : Object(groups), replaceValue);
		}
		if (position >= next) {
			out += s.slice(next, position) + replacement;
			next = position + matched.length;
		}
	}
	return out + s.slice(next);
}

rt.define(String.prototype, 'match', function match(regexp) {
	var s, results, i, out;

	if (!usesExec(regexp))
		return nativeMatch.call(this, regexp);
	s = thisString(this, 'match');
	if (!regexp.global)
		return regExpExec(regexp, s);
	results = allMatches(regexp, s);
	if (results.length === 0)
		return null;
	out = [];
	for (i = 0; i < results.length; i++)
		out.push(String(results[i][0]));
	return out;
});

rt.define(String.prototype, 'replace', function replace(searchValue, replaceValue) {
	if (!usesExec(searchValue))
		return nativeReplace.call(this, searchValue, replaceValue);
	return regExpReplace(searchValue, thisString(this, 'replace'), replaceValue);
});
