/* reply.c - JSON replies: a body with a status, or {"error": ..., "details": [...]}. */
#include "api.h"

void reply_json(struct api_reply *reply, unsigned status, json_t *body)
{
	reply->status = status;
	json_decref(reply->body);
	reply->body = body;
}

void reply_error(struct api_reply *reply, unsigned status, const char *error, json_t *details)
{
	json_t *body = json_pack("{s:s, s:o}", "error", error, "details",
				 details ? details : json_array());

	reply_json(reply, status, body);
}
