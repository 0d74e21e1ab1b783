# Derives the project's duk_config.h from the one Debian's duktape-dev ships.
# Run as: cmake -DIN=<shipped duk_config.h> -DOUT=<generated> -P duk_config.cmake
# Turns on the interrupt counter, the exec-timeout check (routed to the
# sandbox's CPU-budget hook) and fastint, turns off voluntary garbage
# collection (sandbox/gc.h collects between tasks instead), routes fatal
# errors to our handler, and pins local time to UTC; fails loudly if the
# shipped file no longer has the lines this relies on.
file(READ "${IN}" cfg)

function(duk_replace from to)
	string(FIND "${cfg}" "${from}" at)
	if(at EQUAL -1)
		message(FATAL_ERROR "duk_config.cmake: '${from}' not found in ${IN}")
	endif()
	string(REPLACE "${from}" "${to}" cfg "${cfg}")
	set(cfg "${cfg}" PARENT_SCOPE)
endfunction()

duk_replace("#undef DUK_USE_INTERRUPT_COUNTER\n" "#define DUK_USE_INTERRUPT_COUNTER\n")
duk_replace("#undef DUK_USE_FASTINT\n" "#define DUK_USE_FASTINT\n")
duk_replace("#undef DUK_USE_EXEC_TIMEOUT_CHECK\n"
	"/* edged: the sandbox's CPU budget; see sandbox/budget.h */\nextern duk_bool_t edged_duk_exec_timeout_check(void *udata);\n#define DUK_USE_EXEC_TIMEOUT_CHECK(udata) edged_duk_exec_timeout_check(udata)\n")
# Duktape's voluntary mark-and-sweep runs inside whichever allocation crosses
# its trigger, so a request that merely allocates pays for the cycles every
# earlier request left (tens of ms: 1102 at the soft CPU limit).  Without it,
# reference counting frees most garbage at once, sandbox/gc.c collects cycles
# between tasks outside any budget, and Duktape's emergency collection still
# runs inside an allocation that would pass the memory cap.
duk_replace("#define DUK_USE_VOLUNTARY_GC\n"
	"/* edged: no collection inside a task's budget; see sandbox/gc.h */\n#undef DUK_USE_VOLUNTARY_GC\n")
duk_replace("#undef DUK_USE_FATAL_HANDLER\n"
	"/* edged: log and exit instead of abort(); see sandbox/budget.h */\nextern void edged_duk_fatal(void *udata, const char *msg);\n#define DUK_USE_FATAL_HANDLER(udata, msg) edged_duk_fatal((udata), (msg))\n")

duk_replace("#undef DUK_USE_DATE_GET_LOCAL_TZOFFSET\n"
	"/* edged: Workers run in UTC; localtime() would open /etc/localtime under seccomp */\n#define DUK_USE_DATE_GET_LOCAL_TZOFFSET(d) 0\n")

# Date.now() moves only across I/O, as on Workers: see sandbox/clock.h.  Weak,
# so that edged-jsc (which has no clock module) keeps the real time.
duk_replace("#undef DUK_USE_DATE_GET_NOW\n"
	"/* edged: the sandbox clock, frozen while JS runs; see sandbox/clock.h */\nextern double edged_duk_date_now(void) __attribute__((weak));\n#define DUK_USE_DATE_GET_NOW(ctx) (edged_duk_date_now != 0 ? edged_duk_date_now() : duk_bi_date_get_now_gettimeofday())\n")

file(WRITE "${OUT}.tmp" "/* Generated at build time from ${IN} by cmake/duk_config.cmake. */\n${cfg}")
file(RENAME "${OUT}.tmp" "${OUT}")
