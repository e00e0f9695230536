/*
 * execWithParentDeathSignal(parentPid, file, args): turns the calling process into `file` (execvp,
 * the environment as it is) after asking the kernel to SIGKILL it when its parent dies
 * (PR_SET_PDEATHSIG). nitro-enclave's supervisor starts every workload through it, so a workload
 * holding opened secrets never outlives a supervisor that was killed or crashed. Node has no way to
 * run code between fork and exec, hence a launcher process that becomes the workload.
 */
#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "errors.h"

#define MAX_ARGS 4096
#define MAX_ARG_BYTES (128 * 1024)

static napi_value exec_with_parent_death_signal(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t parent = 0;
  uint32_t count = 0;
  bool is_array = false;
  if (argc < 3 || napi_get_value_int32(env, argv[0], &parent) != napi_ok || parent <= 0 || napi_is_array(env, argv[2], &is_array) != napi_ok ||
      !is_array || napi_get_array_length(env, argv[2], &count) != napi_ok || count > MAX_ARGS) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "execWithParentDeathSignal(parentPid, file, args[])");
    return NULL;
  }
  char **args = calloc((size_t)count + 2, sizeof(char *));
  if (args == NULL) return throw_errno(env, ENOMEM, "calloc");
  napi_value result = NULL;
  for (uint32_t i = 0; i <= count; i++) {
    napi_value value = argv[1];
    if (i > 0 && napi_get_element(env, argv[2], i - 1, &value) != napi_ok) goto done;
    size_t length = 0;
    if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok || length > MAX_ARG_BYTES) {
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "the file and every argument must be strings of at most 128 KiB");
      goto done;
    }
    args[i] = malloc(length + 1);
    if (args[i] == NULL) {
      result = throw_errno(env, ENOMEM, "malloc");
      goto done;
    }
    if (napi_get_value_string_utf8(env, value, args[i], length + 1, &length) != napi_ok || strlen(args[i]) != length) {
      napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "the file and the arguments must not contain NUL");
      goto done;
    }
  }
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
    result = throw_errno(env, errno, "prctl PR_SET_PDEATHSIG");
    goto done;
  }
  // The parent may have died before the signal was armed: then this process is already an orphan.
  if (getppid() != parent) _exit(125);
  // Node ignores SIGPIPE and may block signals; an ignored or blocked signal survives exec. The
  // workload starts with every disposition at its default and nothing blocked, as from a shell.
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  // Standard input, output and error go to the workload as a spawned child gets them: open across exec
  // and blocking, as libuv leaves them for any child it spawns. After Node's start-up in this launcher
  // they arrive close-on-exec (seen: the workload found fds 0-2 closed).
  for (int fd = 0; fd <= 2; fd++) {
    int fd_flags = fcntl(fd, F_GETFD);
    if (fd_flags >= 0) fcntl(fd, F_SETFD, fd_flags & ~FD_CLOEXEC);
    int fl_flags = fcntl(fd, F_GETFL);
    if (fl_flags >= 0) fcntl(fd, F_SETFL, fl_flags & ~O_NONBLOCK);
  }
  execvp(args[0], args);
  result = throw_errno(env, errno, "execvp");
done:
  for (uint32_t i = 0; i <= count; i++) free(args[i]);
  free(args);
  return result;
}

napi_status process_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"execWithParentDeathSignal", NULL, exec_with_parent_death_signal, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
