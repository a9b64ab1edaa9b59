/* dist_mpi.c: the MPI backend of dist.h, the one file compiled with the
 * MPI flags. Built without MPI (AOI_HAVE_MPI not defined) it only says
 * so, and lib/dist.c then runs as a group of one. */
#include "train/dist_impl.h"

#include <stdlib.h>

#ifdef AOI_HAVE_MPI

#include <mpi.h>

struct aoi_dist_mpi {
	MPI_Comm comm;  /* our own duplicate: library messages stay apart */
};

/* MPI counts are int: large buffers go in pieces of this many elements. */
#define CHUNK (1 << 30)

int aoi_dist_mpi_built(void)
{
	return 1;
}

static int mpi_fail(aoi_error *err, int rc, const char *what)
{
	char msg[MPI_MAX_ERROR_STRING];
	int len = 0;
	if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS)
		len = 0;
	msg[len] = '\0';
	return aoi_error_set(err, AOI_EIO, NULL, 0, "%s: %s", what,
			     len ? msg : "MPI error");
}

static int local_size_of(MPI_Comm comm, int *local_size)
{
	MPI_Comm node;
	int rc = MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
	if (rc != MPI_SUCCESS)
		return rc;
	rc = MPI_Comm_size(node, local_size);
	MPI_Comm_free(&node);
	return rc;
}

aoi_dist_mpi *aoi_dist_mpi_new(int *rank, int *size, int *local_size, aoi_error *err)
{
	int provided = 0, rc;
	aoi_dist_mpi *m = calloc(1, sizeof(*m));
	if (!m) {
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		return NULL;
	}
	rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
	if (rc != MPI_SUCCESS) {
		free(m);
		mpi_fail(err, rc, "MPI_Init_thread");
		return NULL;
	}
	/* errors come back as codes: lib/ reports them, never aborts itself */
	MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	rc = MPI_Comm_dup(MPI_COMM_WORLD, &m->comm);
	if (rc == MPI_SUCCESS)
		rc = MPI_Comm_rank(m->comm, rank);
	if (rc == MPI_SUCCESS)
		rc = MPI_Comm_size(m->comm, size);
	if (rc == MPI_SUCCESS)
		rc = local_size_of(m->comm, local_size);
	if (rc != MPI_SUCCESS || provided < MPI_THREAD_FUNNELED) {
		if (rc == MPI_SUCCESS)
			aoi_error_set(err, AOI_EINVAL, NULL, 0,
				      "this MPI does not support threads (funnelled)");
		else
			mpi_fail(err, rc, "MPI communicator");
		/* no finalize: the others may be waiting; the caller exits
		 * with an error and the launcher ends the job */
		free(m);
		return NULL;
	}
	return m;
}

void aoi_dist_mpi_finalize(aoi_dist_mpi *m)
{
	if (!m)
		return;
	MPI_Comm_free(&m->comm);
	MPI_Finalize();
	free(m);
}

void aoi_dist_mpi_abort(aoi_dist_mpi *m, int status)
{
	MPI_Abort(m && m->comm != MPI_COMM_NULL ? m->comm : MPI_COMM_WORLD, status);
	free(m);
}

int aoi_dist_mpi_allreduce(aoi_dist_mpi *m, void *buf, size_t n, enum aoi_dist_type type,
			   enum aoi_dist_op op, aoi_error *err)
{
	MPI_Datatype t = type == AOI_DIST_FLOAT ? MPI_FLOAT : MPI_DOUBLE;
	size_t esize = type == AOI_DIST_FLOAT ? sizeof(float) : sizeof(double);
	MPI_Op mop = op == AOI_DIST_SUM ? MPI_SUM : MPI_MAX;
	char *p = buf;
	for (size_t done = 0; done < n;) {
		int count = n - done > CHUNK ? CHUNK : (int)(n - done);
		int rc = MPI_Allreduce(MPI_IN_PLACE, p + done * esize, count, t, mop, m->comm);
		if (rc != MPI_SUCCESS)
			return mpi_fail(err, rc, "MPI_Allreduce");
		done += (size_t)count;
	}
	return 0;
}

int aoi_dist_mpi_bcast(aoi_dist_mpi *m, void *buf, size_t bytes, aoi_error *err)
{
	char *p = buf;
	for (size_t done = 0; done < bytes;) {
		int count = bytes - done > CHUNK ? CHUNK : (int)(bytes - done);
		int rc = MPI_Bcast(p + done, count, MPI_BYTE, 0, m->comm);
		if (rc != MPI_SUCCESS)
			return mpi_fail(err, rc, "MPI_Bcast");
		done += (size_t)count;
	}
	return 0;
}

int aoi_dist_mpi_barrier(aoi_dist_mpi *m, aoi_error *err)
{
	int rc = MPI_Barrier(m->comm);
	return rc == MPI_SUCCESS ? 0 : mpi_fail(err, rc, "MPI_Barrier");
}

#else /* built without MPI */

int aoi_dist_mpi_built(void)
{
	return 0;
}

aoi_dist_mpi *aoi_dist_mpi_new(int *rank, int *size, int *local_size, aoi_error *err)
{
	(void)rank, (void)size, (void)local_size;
	aoi_error_set(err, AOI_EINVAL, NULL, 0, "aoi was built without MPI");
	return NULL;
}

void aoi_dist_mpi_finalize(aoi_dist_mpi *m)
{
	(void)m;
}

void aoi_dist_mpi_abort(aoi_dist_mpi *m, int status)
{
	(void)m;
	exit(status);
}

static int not_built(aoi_error *err)
{
	return aoi_error_set(err, AOI_EINVAL, NULL, 0, "aoi was built without MPI");
}

int aoi_dist_mpi_allreduce(aoi_dist_mpi *m, void *buf, size_t n, enum aoi_dist_type type,
			   enum aoi_dist_op op, aoi_error *err)
{
	(void)m, (void)buf, (void)n, (void)type, (void)op;
	return not_built(err);
}

int aoi_dist_mpi_bcast(aoi_dist_mpi *m, void *buf, size_t bytes, aoi_error *err)
{
	(void)m, (void)buf, (void)bytes;
	return not_built(err);
}

int aoi_dist_mpi_barrier(aoi_dist_mpi *m, aoi_error *err)
{
	(void)m;
	return not_built(err);
}

#endif
