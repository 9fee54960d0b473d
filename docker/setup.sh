#!/bin/sh
# One-shot setup of the compose stack, run by the `setup` service with our image.
#  1. wait for Elasticsearch, 2. set the kibana_system password (Kibana logs in with it),
#  3. `pipeline setup`: index template, ILM policy, and the dashboards once Kibana is up.
set -eu
auth="elastic:${ELASTIC_PASSWORD}"

echo "waiting for Elasticsearch at ${ES_URL}"
until curl -s -u "$auth" "${ES_URL}/_cluster/health?wait_for_status=yellow&timeout=5s" | grep -q '"status"'; do
  sleep 2
done

echo "setting the kibana_system password"
until curl -s -X POST -u "$auth" -H "Content-Type: application/json" \
    "${ES_URL}/_security/user/kibana_system/_password" -d "{\"password\":\"${KIBANA_PASSWORD}\"}" | grep -q '^{}'; do
  sleep 2
done

# The password goes through the environment, not the command line (visible in process lists).
export ES_PASSWORD="${ELASTIC_PASSWORD}"
pipeline setup --es "${ES_URL}" --user elastic \
  --index-pattern 'logs-*' --delete-after "${DELETE_AFTER}" --replicas 0 \
  --kibana "${KIBANA_URL}"

touch /tmp/setup-done
echo "setup done"
