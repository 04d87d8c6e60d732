/*
 * spool: see spool.h.  File names are <seconds>.<microseconds>.<pid>.
 * <random>.<provider>: unique without a lock, and in arrival order when
 * sorted, so seq-event applies a provider's events in the order they came.
 */
#include "spool.h"

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "util.h"

static int
sync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* tmp/ and new/ are made on first use, group-writable: the web server's
 * user writes, the admin's seq-event reads and removes. */
static int
ensure_dir(const char *path)
{
	if (mkdir(path, 02770) == 0)
		/* mkdir's mode passes through the umask and, on Linux, drops
		 * the setgid bit: set both as meant */
		return chmod(path, 02770);
	return errno == EEXIST ? 0 : -1;
}

int
spool_deposit(const char *dir, const char *provider, const char *meta,
    size_t meta_len, const char *body, size_t body_len)
{
	char name[128], *tmp = NULL, *dst = NULL, *newdir = NULL, *tmpdir = NULL;
	unsigned char rnd[8];
	struct timeval tv;
	int fd = -1, rc = -1, saved;

	gettimeofday(&tv, NULL);
	if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd)
		return -1;
	snprintf(name, sizeof name, "%lld.%06ld.%ld.%02x%02x%02x%02x%02x%02x%02x%02x.%s",
	    (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(), rnd[0],
	    rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7], provider);
	tmpdir = xasprintf("%s/tmp", dir);
	newdir = xasprintf("%s/new", dir);
	tmp = xasprintf("%s/%s", tmpdir, name);
	dst = xasprintf("%s/%s", newdir, name);
	if (ensure_dir(dir) || ensure_dir(tmpdir) || ensure_dir(newdir))
		goto out;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640)) < 0)
		goto out;
	/* the group reads, whatever the web server's umask: the directories
	 * let it in, the file must too */
	if (fchmod(fd, 0640) != 0)
		goto out;
	if (write_all(fd, meta, meta_len) || write_all(fd, "\n", 1) ||
	    write_all(fd, body, body_len) || fsync(fd))
		goto out;
	if (close(fd)) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, dst) || sync_dir(newdir))
		goto out;
	rc = 0;
out:
	saved = errno;
	if (fd >= 0)
		close(fd);
	if (rc)
		unlink(tmp);
	free(tmp);
	free(dst);
	free(tmpdir);
	free(newdir);
	errno = saved;
	return rc;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
spool_list(const char *dir, struct spool_list *l)
{
	char *path = xasprintf("%s/new", dir);
	DIR *d = opendir(path);
	struct dirent *e;
	size_t cap = 0;

	l->names = NULL;
	l->n = 0;
	if (!d) {
		if (errno == ENOENT) {
			free(path);
			return;
		}
		err(EXIT_IO, "%s", path);
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (l->n == cap) {
			cap = cap ? cap * 2 : 256;
			l->names = xrealloc(l->names, cap * sizeof *l->names);
		}
		l->names[l->n++] = xstrdup(e->d_name);
	}
	closedir(d);
	free(path);
	if (l->n)	/* qsort of NULL, even of nothing, is undefined */
		qsort(l->names, l->n, sizeof *l->names, by_name);
}

void
spool_list_free(struct spool_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	l->names = NULL;
	l->n = 0;
}

char *
spool_read(const char *dir, const char *name, size_t *len)
{
	char *path = xasprintf("%s/new/%s", dir, name), *p = NULL;
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	free(path);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) != 0)
		goto fail;
	p = xmalloc((size_t)sb.st_size + 1);
	while (got < (size_t)sb.st_size) {
		ssize_t r = read(fd, p + got, (size_t)sb.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto fail;
		got += (size_t)r;
	}
	close(fd);
	p[got] = '\0';
	*len = got;
	return p;
fail:
	free(p);
	close(fd);
	return NULL;
}

void
spool_remove(const char *dir, char *const *names, size_t n)
{
	char *newdir = xasprintf("%s/new", dir);
	for (size_t i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", newdir, names[i]);
		if (unlink(path) != 0 && errno != ENOENT)
			err(EXIT_IO, "%s", path);
		free(path);
	}
	if (n && sync_dir(newdir) != 0)
		err(EXIT_IO, "%s", newdir);
	free(newdir);
}

void
spool_quarantine(const char *dir, const char *name, const char *why)
{
	char *qdir = xasprintf("%s/quarantine", dir);
	char *from = xasprintf("%s/new/%s", dir, name);
	char *to = xasprintf("%s/%s", qdir, name);
	char *whyp = xasprintf("%s/%s.why", qdir, name);
	FILE *f;

	if (ensure_dir(qdir) != 0)
		err(EXIT_IO, "%s", qdir);
	/* the reason first: a crash between the two leaves the file in new/,
	 * to be judged again, never a quarantined file without its reason */
	if (!(f = fopen(whyp, "w")) || fprintf(f, "%s\n", why) < 0 ||
	    fflush(f) || fsync(fileno(f)) || fclose(f))
		err(EXIT_IO, "%s", whyp);
	if (rename(from, to) != 0 && errno != ENOENT)
		err(EXIT_IO, "%s", from);
	if (sync_dir(qdir) != 0)
		err(EXIT_IO, "%s", qdir);
	free(qdir);
	free(from);
	free(to);
	free(whyp);
}
