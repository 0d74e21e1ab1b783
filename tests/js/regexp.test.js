// regexp.test.js: named capture groups in RegExps built at run time
// (sdk-js/runtime/06-regexp.js), and ordinary RegExp behaviour left as
// Duktape has it.

function throwsSyntax(source, fragment) {
	var e = assertThrows(function () { return new RegExp(source); }, SyntaxError, source);
	assert(String(e.message).indexOf(fragment) !== -1, source + ': ' + e.message);
}

// ---- ordinary RegExps are the native ones ----

test('RegExp keeps its prototype, constructor, name and length', function () {
	var re = /a/g, d = Object.getOwnPropertyDescriptor(RegExp, 'prototype');
	assertEqual(Object.getPrototypeOf(re), RegExp.prototype);
	assertEqual(re.constructor, RegExp);
	assert(re instanceof RegExp);
	assert(new RegExp('a') instanceof RegExp);
	assertEqual(Object.getPrototypeOf(new RegExp('a')), RegExp.prototype);
	assertEqual(RegExp.name, 'RegExp');
	assertEqual(RegExp.length, 2);
	assertDeepEqual([d.writable, d.enumerable, d.configurable], [false, false, false]);
	assertEqual(Object.keys(RegExp.prototype).length, 0, 'nothing enumerable added');
	assertEqual(Object.prototype.toString.call(new RegExp('a')), '[object RegExp]');
});

test('RegExp(re) is re; new RegExp(re) copies, with new flags if given', function () {
	var re = /a.c/gi, copy = new RegExp(re), other = new RegExp(re, 'm');
	assertEqual(RegExp(re), re);
	assert(copy !== re);
	assertEqual(copy.source, 'a.c');
	assertEqual(copy.flags, 'gi');
	assertEqual(other.flags, 'm');
	assertEqual(RegExp(re, 'g') !== re, true);
	assertEqual(new RegExp().source, '(?:)');
	assertEqual(new RegExp('a/b').source, 'a\\/b');
	assertEqual(String(new RegExp('a/b', 'g')), '/a\\/b/g');
});

test('flags and syntax errors are the native ones', function () {
	assertThrows(function () { return new RegExp('a', 'q'); }, SyntaxError);
	assertThrows(function () { return new RegExp('a', 'gg'); }, SyntaxError);
	assertThrows(function () { return new RegExp('(a'); }, SyntaxError);
	assertThrows(function () { return new RegExp('a', 's'); }, SyntaxError, 'no dotAll at run time');
	assertThrows(function () { return new RegExp(Symbol('a')); }, TypeError);
	assertEqual(new RegExp({ toString: function () { return 'x+'; } }).source, 'x+');
});

test('exec, lastIndex and test on an ordinary RegExp', function () {
	var re = /(\d)(x)?/g, m;
	m = re.exec('a1b2');
	assertDeepEqual([m[0], m[1], m[2], m.index, m.input], ['1', '1', undefined, 1, 'a1b2']);
	assertEqual(re.lastIndex, 2);
	assertEqual('groups' in m, false, 'no groups property without named groups');
	m = re.exec('a1b2');
	assertEqual(m.index, 3);
	assertEqual(re.exec('a1b2'), null);
	assertEqual(re.lastIndex, 0);
	assertEqual(/b/.test('abc'), true);
});

test('match, replace, split and search on ordinary RegExps', function () {
	var m = 'x1y'.match(/(\d)/), args;
	assertDeepEqual([m[0], m[1], m.index], ['1', '1', 1]);
	assertDeepEqual('a1b22'.match(/\d+/g), ['1', '22']);
	assertEqual('abc'.match(/z/g), null);
	assertEqual('a-b'.replace(/(\w)-(\w)/, '$2-$1'), 'b-a');
	assertEqual('xbx'.replace(/(b)/, '[$1$2$01$10$$$&]'), 'x[b$2bb0$b]x');
	assertEqual('ab'.replace(/b/, '$<n>'), 'a$<n>', '$<n> is literal without named groups');
	'abc'.replace(/(b)/, function () { args = Array.prototype.slice.call(arguments); return ''; });
	assertDeepEqual(args, ['b', 'b', 1, 'abc']);
	assertDeepEqual('a1b2c'.split(/(\d)/), ['a', '1', 'b', '2', 'c']);
	assertEqual('abc'.search(/c/), 2);
	assertEqual('aaa'.replace('a', 'b'), 'baa');
});

// ---- named groups ----

test('exec results carry groups', function () {
	var re = new RegExp('(?<year>\\d{4})-(?<month>\\d\\d)(?:-(?<day>\\d\\d))?'), m;
	m = re.exec('on 2024-05!');
	assertEqual(m[0], '2024-05');
	assertEqual(m[1], '2024');
	assertEqual(m.index, 3);
	assertEqual(Object.getPrototypeOf(m.groups), null);
	assertDeepEqual(Object.keys(m.groups), ['year', 'month', 'day']);
	assertEqual(m.groups.year, '2024');
	assertEqual(m.groups.month, '05');
	assertEqual(m.groups.day, undefined);
	assertEqual(re.exec('none'), null);
	assertEqual(RegExp.prototype.exec.call(re, '1999-12-31').groups.day, '31');
});

test('a named RegExp is a native RegExp object', function () {
	var re = RegExp('^/todos/(?<id>[^/]+)$', 'i');
	assertEqual(Object.getPrototypeOf(re), RegExp.prototype);
	assert(re instanceof RegExp);
	assertEqual(re.constructor, RegExp);
	assertEqual(re.flags, 'i');
	assertEqual(re.ignoreCase, true);
	assertEqual(re.source, '^\\/todos\\/(?<id>[^\\/]+)$');
	assertEqual(String(re), '/^\\/todos\\/(?<id>[^\\/]+)$/i');
	assertEqual(re.test('/TODOS/7'), true);
	assertEqual(Object.getOwnPropertyNames(re).join(), 'lastIndex', 'nothing visible added');
});

test('global exec and lastIndex with named groups', function () {
	var re = new RegExp('(?<d>\\d)', 'g'), seen = [], m;
	while ((m = re.exec('a1b2')) !== null)
		seen.push(m.groups.d + '@' + m.index + '/' + re.lastIndex);
	assertDeepEqual(seen, ['1@1/2', '2@3/4']);
	assertEqual(re.lastIndex, 0);
});

test('String.prototype.match: groups when not global, strings when global', function () {
	var m = '/todos/42'.match(new RegExp('^/todos/(?<id>[^/]+)$'));
	assertEqual(m.groups.id, '42');
	assertEqual(m.index, 0);
	assertEqual('/x'.match(new RegExp('^/todos/(?<id>[^/]+)$')), null);
	assertDeepEqual('a1b22'.match(new RegExp('(?<n>\\d+)', 'g')), ['1', '22']);
	assertEqual('ab'.match(new RegExp('(?<n>\\d+)', 'g')), null);
	assertDeepEqual('ab'.match(new RegExp('(?<e>)', 'g')), ['', '', ''], 'empty matches advance');
});

test('String.prototype.replace with $<name> and a function replacer', function () {
	var re = new RegExp('(?<y>\\d{4})-(?<m>\\d\\d)', 'g'), args = [];
	assertEqual('2024-05 and 1999-12'.replace(re, '$<m>/$<y>'), '05/2024 and 12/1999');
	assertEqual(re.lastIndex, 0);
	assertEqual('2024-05'.replace(new RegExp('(?<y>\\d+)-(?<m>\\d+)'), '[$<nope>|$1|$&|$$|$<y]'),
	    '[|2024|2024-05|$|$<y]');
	'x2024-05'.replace(new RegExp('(?<y>\\d+)-(?<m>\\d+)'), function () {
		args = Array.prototype.slice.call(arguments);
		return '';
	});
	assertEqual(args.length, 6);
	assertDeepEqual(args.slice(0, 5), ['2024-05', '2024', '05', 1, 'x2024-05']);
	assertDeepEqual([args[5].y, args[5].m], ['2024', '05']);
	assertEqual('a-b'.replace(new RegExp('(?<l>\\w)-(?<r>\\w)'), function (all, l, r, pos, s, g) {
		return g.r + '+' + g.l;
	}), 'b+a');
	assertEqual('aXbX'.replaceAll(new RegExp('(?<c>X)', 'g'), '<$<c>>'), 'a<X>b<X>');
});

test('matchAll yields groups', function () {
	var all = Array.from('k1=v1;k2=v2'.matchAll(new RegExp('(?<k>\\w+)=(?<v>\\w+)', 'g')));
	assertEqual(all.length, 2);
	assertEqual(all[1].groups.k, 'k2');
	assertEqual(all[1].groups.v, 'v2');
	assertEqual(all[1].index, 6);
});

test('split and search work on named RegExps', function () {
	assertDeepEqual('a1b'.split(new RegExp('(?<d>\\d)')), ['a', '1', 'b']);
	assertEqual('ab1'.search(new RegExp('(?<d>\\d)')), 2);
});

test('copies keep the names', function () {
	var re = new RegExp('(?<w>\\w+)', 'g');
	var copy = new RegExp(re), other = new RegExp(re, 'i'), bySource = new RegExp(re.source);
	assertEqual(RegExp(re), re);
	assert(copy !== re);
	assertEqual(copy.flags, 'g');
	assertEqual(copy.exec('hi').groups.w, 'hi');
	assertEqual(other.flags, 'i');
	assertEqual(other.exec('yo').groups.w, 'yo');
	assertEqual(bySource.exec('ok').groups.w, 'ok');
});

test('\\k<name> refers back to a named group', function () {
	var re = new RegExp('^(?<q>[\'"]).*?\\k<q>$');
	assertEqual(re.test('"hi"'), true);
	assertEqual(re.test('"hi\''), false);
	assertEqual(new RegExp('(?<a>x)\\k<a>0').test('xx0'), true, 'a digit after the reference');
	assertEqual(new RegExp('\\k<a>(?<a>x)').exec('x').groups.a, 'x', 'a forward reference');
	throwsSyntax('(?<a>x)\\k<b>', "no capture group named 'b'");
});

test('escaped and bracketed (?< are not groups; numbering counts every group', function () {
	var m = new RegExp('(a)(?:b)(?<n>c)\\2').exec('abcc');
	assertEqual(m.groups.n, 'c');
	assertEqual(m[2], 'c');
	assertEqual(new RegExp('[(?<x>]+').test('<'), true);
	assertEqual(new RegExp('\\(?<x>').test('<x>'), true);
	assertEqual(new RegExp('(?=a)(?!b)(?<n>a)').exec('a').groups.n, 'a');
});

test('lookbehind, bad and duplicate names are SyntaxErrors that say so', function () {
	throwsSyntax('(?<=a)b', 'lookbehind');
	throwsSyntax('(?<!a)b', 'lookbehind');
	throwsSyntax('(?<1a>x)', 'invalid capture group name');
	throwsSyntax('(?<a', 'invalid capture group name');
	throwsSyntax('(?<>x)', 'invalid capture group name');
	throwsSyntax('(?<a>x)(?<a>y)', "duplicate capture group name 'a'");
	assertThrows(function () { return new RegExp('(?<a>(x)', 'g'); }, SyntaxError);
	assertThrows(function () { return new RegExp('(?<a>x)', 'gq'); }, SyntaxError);
});

test('a subclass built through Reflect.construct (swc class output) gets its prototype', function () {
	function Sub() {}
	Sub.prototype = Object.create(RegExp.prototype, { constructor: { value: Sub } });
	Object.setPrototypeOf(Sub, RegExp);
	var plain = Reflect.construct(RegExp, ['a+', 'g'], Sub);
	var named = Reflect.construct(RegExp, ['(?<a>a+)'], Sub);
	assertEqual(Object.getPrototypeOf(plain), Sub.prototype);
	assert(plain instanceof RegExp);
	assertEqual(plain.flags, 'g');
	assertEqual(plain.exec('baa')[0], 'aa');
	assertEqual(Object.getPrototypeOf(named), Sub.prototype);
	assertEqual(named.exec('baa').groups.a, 'aa');
});

test('a RegExp with an exec of its own is used by match and replace', function () {
	var re = /(\d)/g;
	re.exec = function (s) {
		var m = RegExp.prototype.exec.call(this, s);
		if (m !== null)
			m.groups = { digit: m[1] };
		return m;
	};
	assertEqual('a1b2'.replace(re, '<$<digit>>'), 'a<1>b<2>');
	assertDeepEqual('a1b2'.match(re), ['1', '2']);
	re.exec = function () { return 5; };
	assertThrows(function () { 'a1'.replace(re, 'x'); }, TypeError);
});
