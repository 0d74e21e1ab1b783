# policy_gen.cmake: compiles the seccomp policies in policies/*.policy into the
# C tables of policies/policy.h, at build time.  Syntax: see sandbox.policy.
# Run as: cmake -DOUT=<policy_table.c> -DPOLICY_FILES=<a.policy,b.policy> -P policy_gen.cmake
# Any error names FILE:LINE and fails the build; nothing is written then.

cmake_minimum_required(VERSION 3.25)

if(NOT OUT OR NOT POLICY_FILES)
	message(FATAL_ERROR "usage: cmake -DOUT=<file.c> -DPOLICY_FILES=<a.policy,...> -P policy_gen.cmake")
endif()

set(VALUE_RE "[A-Za-z0-9_|]+")
set(ARG_RE "arg([0-5])")

function(policy_fail where why)
	message(FATAL_ERROR "${where}: ${why}")
endfunction()

# Parses an action word into POLICY_* and an errno name, in the caller's
# variables ACTION and ERRNUM.
function(policy_parse_action where word)
	if(word STREQUAL "allow")
		set(ACTION POLICY_ALLOW PARENT_SCOPE)
		set(ERRNUM 0 PARENT_SCOPE)
	elseif(word STREQUAL "kill")
		set(ACTION POLICY_KILL PARENT_SCOPE)
		set(ERRNUM 0 PARENT_SCOPE)
	elseif(word MATCHES "^errno\\((E[A-Z0-9]+)\\)$")
		set(ACTION POLICY_ERRNO PARENT_SCOPE)
		set(ERRNUM ${CMAKE_MATCH_1} PARENT_SCOPE)
	else()
		policy_fail("${where}" "unknown action '${word}' (allow, kill, errno(ENAME))")
	endif()
endfunction()

set(body "")
set(tables "")
string(REPLACE "," ";" files "${POLICY_FILES}")
foreach(path IN LISTS files)
	get_filename_component(fname "${path}" NAME)
	get_filename_component(base "${path}" NAME_WE)
	string(MAKE_C_IDENTIFIER "policy_${base}" sym)
	file(READ "${path}" text)
	# CMake lists split on ';' and treat brackets and backslashes specially:
	# hide them behind placeholders until a reason is written out.
	if(text MATCHES "@(SEMI|LB|RB|BS)@")
		policy_fail("${path}" "the text @SEMI@, @LB@, @RB@ or @BS@ is reserved")
	endif()
	string(REPLACE "\\" "@BS@" text "${text}")
	string(REPLACE ";" "@SEMI@" text "${text}")
	string(REPLACE "[" "@LB@" text "${text}")
	string(REPLACE "]" "@RB@" text "${text}")
	string(REPLACE "\n" ";" lines "${text}")

	set(default_action "")
	set(rules "")
	set(nrules 0)
	set(lineno 0)
	foreach(line IN LISTS lines)
		math(EXPR lineno "${lineno} + 1")
		set(where "${path}:${lineno}")
		string(FIND "${line}" "#" hash)
		set(reason "")
		if(hash GREATER_EQUAL 0)
			math(EXPR after "${hash} + 1")
			string(SUBSTRING "${line}" ${after} -1 reason)
			string(STRIP "${reason}" reason)
			string(SUBSTRING "${line}" 0 ${hash} line)
		endif()
		string(STRIP "${line}" line)
		if(line STREQUAL "")
			continue()
		endif()

		if(line MATCHES "^@default[ \t]+([^ \t]+)$")
			if(NOT default_action STREQUAL "")
				policy_fail("${where}" "second @default")
			endif()
			policy_parse_action("${where}" "${CMAKE_MATCH_1}")
			set(default_action ${ACTION})
			set(default_errnum ${ERRNUM})
			continue()
		endif()

		if(NOT line MATCHES "^([a-z0-9_]+)[ \t]+([^ \t]+)(.*)$")
			policy_fail("${where}" "expected 'SYSCALL ACTION [CONDITIONS]  # REASON'")
		endif()
		set(name ${CMAKE_MATCH_1})
		set(action_word ${CMAKE_MATCH_2})
		set(rest "${CMAKE_MATCH_3}")
		policy_parse_action("${where}" "${action_word}")
		if(reason STREQUAL "")
			policy_fail("${where}" "'${name}' has no '# reason' comment")
		endif()

		# Conditions: fixed ones go to every emitted rule; one "in" list
		# fans the line out into one rule per value.
		set(fixed "")
		set(nfixed 0)
		set(in_arg "")
		set(in_values "")
		set(seen_args "")
		string(STRIP "${rest}" rest)
		if(NOT rest STREQUAL "")
			string(REGEX REPLACE "[ \t]+and[ \t]+" ";" conds "${rest}")
			foreach(cond IN LISTS conds)
				string(STRIP "${cond}" cond)
				if(cond MATCHES "^${ARG_RE}[ \t]+in[ \t]*\\(([^()]*)\\)$")
					if(NOT in_arg STREQUAL "")
						policy_fail("${where}" "only one 'in' list per line")
					endif()
					set(arg ${CMAKE_MATCH_1})
					set(in_arg ${arg})
					string(REPLACE "," ";" vals "${CMAKE_MATCH_2}")
					foreach(v IN LISTS vals)
						string(STRIP "${v}" v)
						if(NOT v MATCHES "^${VALUE_RE}$")
							policy_fail("${where}" "bad value '${v}' in the 'in' list")
						endif()
						list(APPEND in_values "${v}")
					endforeach()
					if(in_values STREQUAL "")
						policy_fail("${where}" "empty 'in' list")
					endif()
				elseif(cond MATCHES "^${ARG_RE}[ \t]*&[ \t]*(${VALUE_RE})[ \t]*==[ \t]*(${VALUE_RE})$")
					set(arg ${CMAKE_MATCH_1})
					string(APPEND fixed "{ .arg = ${arg}, .op = POLICY_OP_MASKED_EQ, .mask = (uint64_t)(${CMAKE_MATCH_2}), .value = (uint64_t)(${CMAKE_MATCH_3}) }, ")
					math(EXPR nfixed "${nfixed} + 1")
				elseif(cond MATCHES "^${ARG_RE}[ \t]*(==|!=|<=|>=|<|>)[ \t]*(${VALUE_RE})$")
					set(arg ${CMAKE_MATCH_1})
					if(CMAKE_MATCH_2 STREQUAL "==")
						set(op EQ)
					elseif(CMAKE_MATCH_2 STREQUAL "!=")
						set(op NE)
					elseif(CMAKE_MATCH_2 STREQUAL "<=")
						set(op LE)
					elseif(CMAKE_MATCH_2 STREQUAL ">=")
						set(op GE)
					elseif(CMAKE_MATCH_2 STREQUAL "<")
						set(op LT)
					else()
						set(op GT)
					endif()
					string(APPEND fixed "{ .arg = ${arg}, .op = POLICY_OP_${op}, .mask = 0, .value = (uint64_t)(${CMAKE_MATCH_3}) }, ")
					math(EXPR nfixed "${nfixed} + 1")
				else()
					policy_fail("${where}" "cannot parse condition '${cond}'")
				endif()
				# libseccomp cannot AND two comparisons of one argument.
				if(arg IN_LIST seen_args)
					policy_fail("${where}" "arg${arg} is compared twice")
				endif()
				list(APPEND seen_args ${arg})
			endforeach()
		endif()
		if(nfixed GREATER 5)
			policy_fail("${where}" "too many conditions")
		endif()

		# Back to the real characters, escaped for a C string literal.
		string(REPLACE "@BS@" "\\\\" reason "${reason}")
		string(REPLACE "\"" "\\\"" reason "${reason}")
		string(REPLACE "@SEMI@" ";" reason "${reason}")
		string(REPLACE "@LB@" "[" reason "${reason}")
		string(REPLACE "@RB@" "]" reason "${reason}")
		set(head "\t{ .syscall = \"${name}\", .nr = SCMP_SYS(${name}), .action = ${ACTION}, .errnum = ${ERRNUM},\n\t  .line = ${lineno}, .reason = \"${reason}\",\n")
		if(in_arg STREQUAL "")
			if(nfixed EQUAL 0)
				string(APPEND rules "${head}\t  .ncond = 0 },\n")
			else()
				string(APPEND rules "${head}\t  .ncond = ${nfixed}, .cond = { ${fixed}} },\n")
			endif()
			math(EXPR nrules "${nrules} + 1")
		else()
			math(EXPR n "${nfixed} + 1")
			foreach(v IN LISTS in_values)
				string(APPEND rules "${head}\t  .ncond = ${n}, .cond = { ${fixed}{ .arg = ${in_arg}, .op = POLICY_OP_EQ, .mask = 0, .value = (uint64_t)(${v}) } } },\n")
				math(EXPR nrules "${nrules} + 1")
			endforeach()
		endif()
	endforeach()

	if(default_action STREQUAL "")
		policy_fail("${path}" "no '@default ACTION' line")
	endif()
	if(nrules EQUAL 0)
		policy_fail("${path}" "no rules")
	endif()
	string(APPEND body "/* ${fname} */\nstatic const struct policy_rule ${sym}_rules[] = {\n${rules}};\n\n")
	string(APPEND body "const struct policy ${sym} = {\n\t.name = \"${fname}\",\n\t.default_action = ${default_action},\n\t.default_errnum = ${default_errnum},\n\t.rules = ${sym}_rules,\n\t.nrules = sizeof(${sym}_rules) / sizeof(${sym}_rules[0]),\n};\n\n")
endforeach()

set(header "/*
 * Generated at build time by policies/policy_gen.cmake from the .policy files
 * in policies/.  Do not edit: change the .policy file (see policies/README.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>

#include \"policies/policy.h\"

#if !defined(__x86_64__)
#error \"the seccomp policies are written for x86_64 syscall numbers and arguments\"
#endif

")
file(WRITE "${OUT}.tmp" "${header}${body}")
file(RENAME "${OUT}.tmp" "${OUT}")
