/* dist.c: the process group of dist.h. A group of one (no launcher, or no
 * MPI in the build) answers every collective itself; otherwise the calls
 * go to the MPI backend in dist_mpi.c. */
#include "train/dist.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <omp.h>

#include "base/cli.h"
#include "train/dist_impl.h"

struct aoi_dist {
	int rank, size, local_size;
	aoi_dist_mpi *mpi;  /* NULL: a group of one */
	aoi_dist_stats stats;
	double started;
};

/* Processes the launcher started: 0 when there is no launcher, -1 when
 * there is one that does not say how many. Open MPI sets
 * OMPI_COMM_WORLD_SIZE, MPICH's hydra and Slurm PMI set PMI_SIZE, PMIx
 * launchers set PMIX_RANK. */
static long launcher_size(void)
{
	const char *names[] = { "OMPI_COMM_WORLD_SIZE", "PMI_SIZE" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = getenv(names[i]);
		if (v && *v)
			return strtol(v, NULL, 10);
	}
	return getenv("PMIX_RANK") ? -1 : 0;
}

aoi_dist *aoi_dist_new(aoi_error *err)
{
	aoi_dist *d = calloc(1, sizeof(*d));
	if (!d) {
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		return NULL;
	}
	d->size = d->local_size = 1;
	d->started = aoi_now();
	long launched = launcher_size();
	/* without a launcher MPI is not touched at all: a plain run stays
	 * a plain process (no MPI_Init, no daemon, no sockets) */
	if (launched == 0 || (launched == 1 && !aoi_dist_mpi_built()))
		return d;
	if (!aoi_dist_mpi_built()) {
		if (launched < 0)
			return d;
		aoi_error_set(err, AOI_EINVAL, NULL, 0,
			      "started as %ld MPI processes, but aoi was built without MPI "
			      "(rebuild with make MPI=1): each would train its own model",
			      launched);
		free(d);
		return NULL;
	}
	d->mpi = aoi_dist_mpi_new(&d->rank, &d->size, &d->local_size, err);
	if (!d->mpi) {
		free(d);
		return NULL;
	}
	return d;
}

void aoi_dist_free(aoi_dist *d, int failed)
{
	if (!d)
		return;
	if (d->mpi && failed && d->size > 1) {
		/* the others may wait in a collective that will never end */
		aoi_dist_mpi_abort(d->mpi, failed);
		d->mpi = NULL;
	}
	aoi_dist_mpi_finalize(d->mpi);
	free(d);
}

int aoi_dist_rank(const aoi_dist *d)
{
	return d ? d->rank : 0;
}

int aoi_dist_size(const aoi_dist *d)
{
	return d ? d->size : 1;
}

int aoi_dist_local_size(const aoi_dist *d)
{
	return d ? d->local_size : 1;
}

const char *aoi_dist_backend(void)
{
	return aoi_dist_mpi_built() ? "mpi" : "none";
}

static int allreduce(aoi_dist *d, void *buf, size_t n, enum aoi_dist_type type,
		     enum aoi_dist_op op, aoi_error *err)
{
	if (!d || !d->mpi || d->size == 1 || n == 0)
		return 0;
	double t0 = aoi_now();
	int rc = aoi_dist_mpi_allreduce(d->mpi, buf, n, type, op, err);
	d->stats.allreduces++;
	d->stats.allreduce_bytes +=
		(double)n * (type == AOI_DIST_FLOAT ? sizeof(float) : sizeof(double));
	d->stats.allreduce_seconds += aoi_now() - t0;
	return rc;
}

int aoi_dist_allreduce_float(aoi_dist *d, float *buf, size_t n, enum aoi_dist_op op,
			     aoi_error *err)
{
	return allreduce(d, buf, n, AOI_DIST_FLOAT, op, err);
}

int aoi_dist_allreduce_double(aoi_dist *d, double *buf, size_t n, enum aoi_dist_op op,
			      aoi_error *err)
{
	return allreduce(d, buf, n, AOI_DIST_DOUBLE, op, err);
}

int aoi_dist_bcast(aoi_dist *d, void *buf, size_t bytes, aoi_error *err)
{
	if (!d || !d->mpi || d->size == 1 || bytes == 0)
		return 0;
	d->stats.bcast_bytes += (double)bytes;
	return aoi_dist_mpi_bcast(d->mpi, buf, bytes, err);
}

int aoi_dist_barrier(aoi_dist *d, aoi_error *err)
{
	if (!d || !d->mpi || d->size == 1)
		return 0;
	return aoi_dist_mpi_barrier(d->mpi, err);
}

void aoi_dist_get_stats(const aoi_dist *d, aoi_dist_stats *s)
{
	memset(s, 0, sizeof(*s));
	if (!d)
		return;
	*s = d->stats;
	s->seconds = aoi_now() - d->started;
}

aoi_dist_stats *aoi_dist_counters(aoi_dist *d)
{
	return &d->stats;
}

int aoi_dist_threads(const aoi_dist *d, int requested)
{
	if (requested > 0 || aoi_dist_local_size(d) == 1)
		return requested;
	/* bound by the launcher to fewer cores than the machine has
	 * (--map-by slot:PE=4, --bind-to core): those are this process's;
	 * unbound: share the machine with the other processes on it */
	int mine = omp_get_num_procs();
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	int cores = mine < online ? mine : mine / aoi_dist_local_size(d);
	return cores > 1 ? cores : 1;
}

int aoi_dist_local_rows(const aoi_dist *d, int batch)
{
	int size = aoi_dist_size(d);
	return batch > 0 && batch % size == 0 ? batch / size : 0;
}

int aoi_dist_global_row(const aoi_dist *d, int r)
{
	return r * aoi_dist_size(d) + aoi_dist_rank(d);
}

/* All of fd 0 into a malloc'd buffer (rank 0). */
static int slurp_stdin(unsigned char **buf, size_t *len, aoi_error *err)
{
	size_t cap = 1 << 16, n = 0;
	unsigned char *b = malloc(cap);
	while (b) {
		if (n == cap) {
			unsigned char *nb = realloc(b, cap * 2);
			if (!nb)
				break;
			b = nb;
			cap *= 2;
		}
		ssize_t got = read(STDIN_FILENO, b + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			free(b);
			return aoi_error_errno(err, "<stdin>", "cannot read");
		}
		if (got == 0) {
			*buf = b;
			*len = n;
			return 0;
		}
		n += (size_t)got;
	}
	free(b);
	return aoi_error_set(err, AOI_ENOMEM, "<stdin>", 0, "out of memory");
}

/* fd 0 <- a memory file holding buf, read from its start. */
static int replace_stdin(const unsigned char *buf, size_t len, aoi_error *err)
{
	int fd = memfd_create("aoi-stdin", MFD_CLOEXEC);
	if (fd < 0)
		return aoi_error_errno(err, "<stdin>", "memfd_create");
	for (size_t done = 0; done < len;) {
		ssize_t put = write(fd, buf + done, len - done);
		if (put < 0 && errno == EINTR)
			continue;
		if (put <= 0) {
			close(fd);
			return aoi_error_errno(err, "<stdin>", "cannot copy");
		}
		done += (size_t)put;
	}
	int rc = lseek(fd, 0, SEEK_SET) == 0 && dup2(fd, STDIN_FILENO) == STDIN_FILENO;
	if (!rc)
		aoi_error_errno(err, "<stdin>", "cannot replace");
	close(fd);
	clearerr(stdin);
	return rc ? 0 : -1;
}

int aoi_dist_share_stdin(aoi_dist *d, aoi_error *err)
{
	if (aoi_dist_size(d) == 1)
		return 0;
	unsigned char *buf = NULL;
	size_t len = 0;
	/* a failed read still takes part in the broadcast (length max), so
	 * that no rank waits for data that will not come */
	int bad = d->rank == 0 && slurp_stdin(&buf, &len, err) < 0;
	uint64_t head[2] = { bad ? UINT64_MAX : len, 0 };
	if (aoi_dist_bcast(d, head, sizeof(head), err) < 0)
		goto fail;
	if (head[0] == UINT64_MAX) {
		if (d->rank != 0)
			aoi_error_set(err, AOI_EIO, "<stdin>", 0, "rank 0 could not read it");
		goto fail;
	}
	len = (size_t)head[0];
	if (d->rank != 0 && !(buf = malloc(len ? len : 1))) {
		/* cannot take part any more: the caller ends the job */
		aoi_error_set(err, AOI_ENOMEM, "<stdin>", 0, "out of memory");
		goto fail;
	}
	if (aoi_dist_bcast(d, buf, len, err) < 0 || replace_stdin(buf, len, err) < 0)
		goto fail;
	free(buf);
	return 0;
fail:
	free(buf);
	return -1;
}
