# Test servers as ctest fixtures. include() this from any CMakeLists that registers tests
# needing them; it is processed once.
#
#   FIXTURES_REQUIRED postgres  ->  PostgreSQL 15 on 127.0.0.1:${HLSFORGE_TEST_PG_PORT},
#                                   URL ${HLSFORGE_TEST_PG_URL}
#   FIXTURES_REQUIRED redis     ->  Redis on 127.0.0.1:${HLSFORGE_TEST_REDIS_PORT},
#                                   URL ${HLSFORGE_TEST_REDIS_URL}
#
# Data lives in ${CMAKE_BINARY_DIR}/test-servers/<name>; the cleanup tests stop the servers.
# The servers are shared by every test that requires them: a test that needs to restart or
# flush a server must start its own (tests/servers/*.sh on another port), as the state and
# coord tests do.
include_guard(GLOBAL)

set(HLSFORGE_TEST_PG_PORT 15432 CACHE STRING "Port of the PostgreSQL test fixture")
set(HLSFORGE_TEST_REDIS_PORT 16379 CACHE STRING "Port of the Redis test fixture")
# INTERNAL cache entries: visible in every directory, whichever included this file first.
set(HLSFORGE_TEST_SERVERS_DIR ${CMAKE_BINARY_DIR}/test-servers CACHE INTERNAL "")
set(HLSFORGE_TEST_SERVERS_SCRIPTS ${PROJECT_SOURCE_DIR}/tests/servers CACHE INTERNAL "")
set(HLSFORGE_TEST_PG_URL "postgresql://postgres@127.0.0.1:${HLSFORGE_TEST_PG_PORT}/hlsforge_test"
  CACHE INTERNAL "")
set(HLSFORGE_TEST_REDIS_URL "redis://127.0.0.1:${HLSFORGE_TEST_REDIS_PORT}" CACHE INTERNAL "")

# fsync off: test data is disposable, and it makes CREATE DATABASE per test cheap.
set(_hf_pg_opts "HLSFORGE_PG_OPTS=-c fsync=off -c synchronous_commit=off -c full_page_writes=off")

add_test(NAME servers.postgres.start
  COMMAND ${CMAKE_COMMAND} -E env ${_hf_pg_opts}
    bash ${HLSFORGE_TEST_SERVERS_SCRIPTS}/postgres.sh start
    ${HLSFORGE_TEST_SERVERS_DIR}/postgres ${HLSFORGE_TEST_PG_PORT})
set_tests_properties(servers.postgres.start PROPERTIES FIXTURES_SETUP postgres TIMEOUT 120)
add_test(NAME servers.postgres.stop
  COMMAND bash ${HLSFORGE_TEST_SERVERS_SCRIPTS}/postgres.sh stop
    ${HLSFORGE_TEST_SERVERS_DIR}/postgres ${HLSFORGE_TEST_PG_PORT})
set_tests_properties(servers.postgres.stop PROPERTIES FIXTURES_CLEANUP postgres TIMEOUT 120)

add_test(NAME servers.redis.start
  COMMAND bash ${HLSFORGE_TEST_SERVERS_SCRIPTS}/redis.sh start
    ${HLSFORGE_TEST_SERVERS_DIR}/redis ${HLSFORGE_TEST_REDIS_PORT})
set_tests_properties(servers.redis.start PROPERTIES FIXTURES_SETUP redis TIMEOUT 60)
add_test(NAME servers.redis.stop
  COMMAND bash ${HLSFORGE_TEST_SERVERS_SCRIPTS}/redis.sh stop
    ${HLSFORGE_TEST_SERVERS_DIR}/redis ${HLSFORGE_TEST_REDIS_PORT})
set_tests_properties(servers.redis.stop PROPERTIES FIXTURES_CLEANUP redis TIMEOUT 60)
