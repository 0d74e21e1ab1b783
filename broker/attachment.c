/*
 * attachment: a sandbox's broker channel, its identity and its binding
 * table, built from the supervisor's ATTACH; CALLs are resolved here and
 * run by broker/calls.c.  Runs in the broker.
 */
#include "broker/attachment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/channel.h"
#include "common/log.h"

#define ATTACHMENT_METHOD_MAX 32
#define ATTACHMENT_NAME_MAX 64

/* A storage binding the script may call: name -> (kind, resource). */
struct binding {
	char *name;
	enum store_kind kind;
	char *resource;
};

struct attachment {
	TAILQ_ENTRY(attachment) entry;
	struct attachment_list *list;
	uint64_t channel_id;
	char tenant[ATTACHMENT_NAME_MAX + 1];
	char who[256]; /* "tenant 'acme' worker 'api' version 3" for logs */
	struct binding *bindings;
	size_t nbindings;
	struct store_limits limits;
	struct channel *ch;
	struct bcalls *calls;
};

static void
attachment_free(struct attachment *a)
{
	bcalls_free(a->calls);
	for (size_t i = 0; i < a->nbindings; i++) {
		free(a->bindings[i].name);
		free(a->bindings[i].resource);
	}
	free(a->bindings);
	free(a);
}

static const struct binding *
attachment_binding(const struct attachment *a, const struct ipc_bytes *name)
{
	for (size_t i = 0; i < a->nbindings; i++) {
		const struct binding *b = &a->bindings[i];

		if (strlen(b->name) == name->len && memcmp(b->name, name->ptr, name->len) == 0)
			return b;
	}
	return NULL;
}

/* The member of a binding entry that names its resource. */
static const char *
attachment_resource_member(enum store_kind kind)
{
	switch (kind) {
	case STORE_KV:
		return "namespace_id";
	case STORE_D1:
		return "id";
	case STORE_R2:
		return "bucket_name";
	}
	return NULL;
}

/* A binding name as logs may show it: the tenant chose it. */
static const char *
attachment_loggable(const char *name)
{
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return "(unprintable)";
	return name;
}

/* Adds one entry of the bindings array when it is a usable storage binding. */
static int
attachment_add_binding(struct attachment *a, json_t *entry)
{
	const char *type = json_string_value(json_object_get(entry, "type"));
	const char *name = json_string_value(json_object_get(entry, "name"));
	const char *resource;
	enum store_kind kind;
	struct binding *b;
	struct ipc_bytes key;

	if (type == NULL || (kind = store_kind_from_binding_type(type)) == 0)
		return 0;
	resource = json_string_value(json_object_get(entry, attachment_resource_member(kind)));
	if (name == NULL || *name == '\0') {
		log_warnx("%s: a '%s' binding without a name is left out", a->who, type);
		return 0;
	}
	if (!store_resource_is_valid(kind, resource)) {
		log_warnx("%s: binding '%s' names an invalid %s and is left out", a->who,
		    attachment_loggable(name), attachment_resource_member(kind));
		return 0;
	}
	key.ptr = name;
	key.len = strlen(name);
	if (attachment_binding(a, &key) != NULL) {
		log_warnx("%s: binding '%s' is named twice; the first one is kept", a->who,
		    attachment_loggable(name));
		return 0;
	}
	b = &a->bindings[a->nbindings];
	if ((b->name = strdup(name)) == NULL || (b->resource = strdup(resource)) == NULL) {
		free(b->name);
		return -1;
	}
	b->kind = kind;
	a->nbindings++;
	return 0;
}

/* Builds the binding table from the ATTACH bindings text; -1 on ENOMEM only. */
static int
attachment_parse_bindings(struct attachment *a, const struct ipc_bytes *text)
{
	json_t *list, *entry;
	size_t i;
	int rc = 0;

	if (text->len == 0)
		return 0;
	list = json_loadb(text->ptr, text->len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_array(list)) {
		log_warnx("%s: the bindings are not a JSON array; none attached", a->who);
		json_decref(list);
		return 0;
	}
	if (json_array_size(list) > 0 &&
	    (a->bindings = calloc(json_array_size(list), sizeof(*a->bindings))) == NULL)
		rc = -1;
	json_array_foreach (list, i, entry) {
		if (rc == 0 && json_is_object(entry))
			rc = attachment_add_binding(a, entry);
	}
	json_decref(list);
	return rc;
}

/* A CALL: resolve the binding by name, then the call table runs it. */
static int
attachment_call(struct attachment *a, const struct ipc_msg *msg)
{
	const struct ipc_bytes *name = &msg->field[IPC_CALL_BINDING].b;
	const struct binding *b = attachment_binding(a, name);
	char method[ATTACHMENT_METHOD_MAX + 1];
	char invalid[128];
	struct bcalls_request req;

	memset(&req, 0, sizeof(req));
	req.id = msg->id;
	req.tenant = a->tenant;
	req.method = method;
	req.args = msg->field[IPC_CALL_ARGS].b;
	req.chunk = msg->field[IPC_CALL_CHUNK].b;
	req.more = msg->field[IPC_CALL_MORE].u;
	req.limits = &a->limits;
	if (!bcalls_copy_str(&msg->field[IPC_CALL_METHOD], method, sizeof(method))) {
		method[0] = '\0';
		req.invalid = "unknown method";
	}
	if (b != NULL) {
		req.kind = b->kind;
		req.resource = b->resource;
	} else {
		snprintf(
		    invalid, sizeof(invalid), "no binding named '%.*s'", (int)name->len, name->ptr);
		req.invalid = invalid;
	}
	return bcalls_begin(a->calls, &req);
}

static void
attachment_on_message(struct channel *ch, const struct ipc_msg *msg, void *arg)
{
	struct attachment *a = arg;

	(void)ch;
	if (msg->type == IPC_CALL)
		attachment_call(a, msg);
	else
		bcalls_on_message(a->calls, msg);
}

static void
attachment_on_closed(struct channel *ch, const char *reason, int violation, void *arg)
{
	struct attachment *a = arg;

	(void)ch;
	if (violation)
		log_warnx("%s: broker channel dropped: %s", a->who, reason);
	TAILQ_REMOVE(a->list, a, entry);
	attachment_free(a);
}

static void
attachment_on_drained(struct channel *ch, void *arg)
{
	struct attachment *a = arg;

	(void)ch;
	bcalls_on_drained(a->calls);
}

static const struct channel_ops attachment_ops = {
	.on_message = attachment_on_message,
	.on_closed = attachment_on_closed,
	.on_drained = attachment_on_drained,
};

/* Identity, bindings and limits from ATTACH; -1 when the attach is refused (logged). */
static int
attachment_identify(struct attachment *a, const struct ipc_msg *msg)
{
	char worker[ATTACHMENT_NAME_MAX + 1];
	const struct ipc_bytes *limits = &msg->field[IPC_ATTACH_LIMITS].b;

	a->channel_id = msg->field[IPC_ATTACH_CHANNEL].u;
	if (!bcalls_copy_str(&msg->field[IPC_ATTACH_TENANT], a->tenant, sizeof(a->tenant)) ||
	    !store_tenant_is_valid(a->tenant)) {
		log_warnx("attach of channel %llu refused: invalid tenant",
		    (unsigned long long)a->channel_id);
		return -1;
	}
	if (!bcalls_copy_str(&msg->field[IPC_ATTACH_WORKER], worker, sizeof(worker)))
		snprintf(worker, sizeof(worker), "?");
	snprintf(a->who, sizeof(a->who), "tenant '%s' worker '%s' version %llu", a->tenant, worker,
	    (unsigned long long)msg->field[IPC_ATTACH_VERSION].u);
	if (limits->len > 0 && store_limits_parse(limits->ptr, limits->len, &a->limits) == -1)
		log_warnx("%s: the storage limits are not a JSON object; none apply", a->who);
	if (attachment_parse_bindings(a, &msg->field[IPC_ATTACH_BINDINGS].b) == -1) {
		log_warnx("%s: attach refused: out of memory", a->who);
		return -1;
	}
	return 0;
}

int
attachment_new(struct attachment_list *list, struct event_base *base,
    const struct bcalls_backends *be, const struct ipc_msg *msg, int fd)
{
	struct attachment *a;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		log_warnx("cannot attach a sandbox channel: out of memory");
		close(fd);
		return -1;
	}
	a->list = list;
	if (attachment_identify(a, msg) == -1)
		goto fail;
	if (attachment_find(list, a->channel_id) != NULL) {
		log_warnx("%s: attach refused: channel %llu is attached already", a->who,
		    (unsigned long long)a->channel_id);
		goto fail;
	}
	/* channel_new consumes fd, also when it fails. */
	if ((a->ch = channel_new(base, fd, IPC_PEER_BROKER, IPC_PEER_SANDBOX, IPC_CAP_FROM_SANDBOX,
		 IPC_ST_READY, 0, &attachment_ops, a)) == NULL) {
		log_warnx("%s: cannot open the broker channel", a->who);
		attachment_free(a);
		return -1;
	}
	TAILQ_INSERT_TAIL(list, a, entry);
	if ((a->calls = bcalls_new(be, a->ch, false, BCALLS_MAX_SANDBOX, a->who)) == NULL) {
		/* Not inside a callback of this channel: the attachment goes at once. */
		log_warnx("%s: cannot attach: out of memory", a->who);
		channel_close(a->ch, "out of memory");
		return -1;
	}
	return 0;
fail:
	close(fd);
	attachment_free(a);
	return -1;
}

struct attachment *
attachment_find(struct attachment_list *list, uint64_t channel_id)
{
	struct attachment *a;

	TAILQ_FOREACH (a, list, entry)
		if (a->channel_id == channel_id)
			return a;
	return NULL;
}

void
attachment_close(struct attachment *a, const char *reason)
{
	channel_close(a->ch, reason);
}
