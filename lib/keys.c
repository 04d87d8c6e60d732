/*
 * keys: see keys.h.
 */
#include "keys.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "config.h"
#include "util.h"

static int
unhex(const char *s, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int v = 0;
		for (int k = 0; k < 2; k++) {
			char c = s[2 * i + k];
			int d = c >= '0' && c <= '9' ? c - '0' :
			    c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			    c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
			if (d < 0)
				return -1;
			v = v * 16 + d;
		}
		out[i] = (unsigned char)v;
	}
	return s[2 * n] == '\0' ? 0 : -1;
}

static void
tohex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void
keys_read(const char *path, struct keys *k)
{
	struct stat sb;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0;
	int have_index = 0, have_encryption = 0;
	int fd = open(path, O_RDONLY | O_NOFOLLOW);
	FILE *f;

	if (fd < 0 || fstat(fd, &sb) != 0)
		err(EXIT_CONFIG, "key file %s", path);
	/* a key others can read protects nothing */
	if (sb.st_mode & 077)
		errx(EXIT_CONFIG, "key file %s: mode %04o lets others read "
		    "it; chmod 600 %s", path, (unsigned)(sb.st_mode & 07777),
		    path);
	if (!(f = fdopen(fd, "r")))
		err(EXIT_CONFIG, "key file %s", path);
	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		/* the line is never shown: it is a key */
		if (!strncmp(line, "index=", 6) && !unhex(line + 6, k->index, 32))
			have_index = 1;
		else if (!strncmp(line, "encryption=", 11) &&
		    !unhex(line + 11, k->encryption, 32))
			have_encryption = 1;
		else
			errx(EXIT_CONFIG, "key file %s: line %ld: not "
			    "index=HEX or encryption=HEX (64 hex digits each)",
			    path, lineno);
	}
	if (ferror(f))
		err(EXIT_CONFIG, "key file %s", path);
	free(line);
	fclose(f);
	if (!have_index || !have_encryption)
		errx(EXIT_CONFIG, "key file %s: needs both an index= and an "
		    "encryption= line; make a new file with seq-init --key-file",
		    path);
}

const struct keys *
keys_get(void)
{
	static struct keys k;
	static int loaded;
	const char *path;

	if (loaded)
		return loaded > 0 ? &k : NULL;
	if (!(path = config_get("SEQ_KEY_FILE"))) {
		loaded = -1;
		return NULL;
	}
	keys_read(path, &k);
	loaded = 1;
	return &k;
}

int
keys_create(const char *path)
{
	unsigned char raw[64];
	char hex[129], text[256];
	int fd, saved;

	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
		return -1;
	tohex(raw, 32, hex);
	tohex(raw + 32, 32, hex + 64);
	int len = snprintf(text, sizeof text, "# seqtools keys: keep this file "
	    "secret, and back it up; without it, what it protects is lost\n"
	    "index=%.64s\nencryption=%.64s\n", hex, hex + 64);
	explicit_bzero(raw, sizeof raw);
	explicit_bzero(hex, sizeof hex);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600)) < 0)
		return -1;
	/* whatever the umask: the file is the keys */
	if (fchmod(fd, 0600) != 0 || write(fd, text, (size_t)len) != len ||
	    fsync(fd) != 0) {
		saved = errno;
		close(fd);
		unlink(path);
		explicit_bzero(text, sizeof text);
		errno = saved;
		return -1;
	}
	explicit_bzero(text, sizeof text);
	if (close(fd) != 0)
		return -1;
	/* the name too must survive a power loss: a database sealed under
	 * keys whose file is gone is lost */
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY);
	saved = dfd >= 0 && fsync(dfd) == 0 ? 0 : errno;
	if (dfd >= 0)
		close(dfd);
	free(dir);
	errno = saved;
	return saved ? -1 : 0;
}

void
blind_index(const struct keys *k, const char *value, char out[65])
{
	unsigned char mac[32];
	unsigned int len = sizeof mac;
	if (!HMAC(EVP_sha256(), k->index, sizeof k->index,
	    (const unsigned char *)value, strlen(value), mac, &len))
		errx(EXIT_CONFIG, "HMAC-SHA256 failed");
	tohex(mac, sizeof mac, out);
}
