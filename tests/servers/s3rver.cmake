# The s3rver test fixture (local S3 API). include() this from any CMakeLists that registers tests
# needing it; it is processed once.
#
#   FIXTURES_REQUIRED s3rver  ->  a fresh s3rver on 127.0.0.1:${HLSFORGE_TEST_S3_PORT}
#                                 (${HLSFORGE_TEST_S3_ENDPOINT}), buckets `upload` and `hls`,
#                                 access key id S3RVER, secret S3RVER.
#
# Data lives in ${CMAKE_BINARY_DIR}/test-servers/s3rver and is wiped at each start; the cleanup
# test stops the server. Shared by every test requiring it: use unique key prefixes, and start
# your own (tests/servers/s3rver.sh on another port) to restart or break it.
include_guard(GLOBAL)

set(HLSFORGE_TEST_S3_PORT 14566 CACHE STRING "Port of the s3rver test fixture")
set(HLSFORGE_TEST_S3_ENDPOINT "http://127.0.0.1:${HLSFORGE_TEST_S3_PORT}" CACHE INTERNAL "")
set(_hf_s3rver_dir ${CMAKE_BINARY_DIR}/test-servers/s3rver)

add_test(NAME servers.s3rver.start
  COMMAND bash ${PROJECT_SOURCE_DIR}/tests/servers/s3rver.sh start --fresh ${_hf_s3rver_dir}
    ${HLSFORGE_TEST_S3_PORT} upload hls)
set_tests_properties(servers.s3rver.start PROPERTIES FIXTURES_SETUP s3rver TIMEOUT 60)
add_test(NAME servers.s3rver.stop
  COMMAND bash ${PROJECT_SOURCE_DIR}/tests/servers/s3rver.sh stop ${_hf_s3rver_dir})
set_tests_properties(servers.s3rver.stop PROPERTIES FIXTURES_CLEANUP s3rver TIMEOUT 30)
