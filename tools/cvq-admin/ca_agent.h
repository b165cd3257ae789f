/* cvq-admin — the issuing agent's command (cmd_ca_agent.c) and its socket. */
#ifndef CVQ_ADMIN_CA_AGENT_H
#define CVQ_ADMIN_CA_AGENT_H

#include "admin.h"

int cvq_admin_cmd_ca_agent(int argc, char **argv, const struct cvq_admin_opts *opts);
/* flag if not NULL, else the default beside the store (malloc'd); NULL on error. */
char *cvq_admin_agent_socket(const struct cvq_admin_opts *opts, const char *flag);

#endif
