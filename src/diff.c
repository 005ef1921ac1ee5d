/*
 * diff.c: `wallprof diff BASE NEW`, what grew and what shrank between two
 * profiles: by state and by function (inclusive), in share of all samples
 * (comparable across runs of different lengths) and in wall time. With -o
 * it also writes a differential flame graph: the new profile's shape,
 * coloured by change.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "hashmap.h"
#include "profile.h"
#include "tally.h"
#include "states.h"
#include "util.h"
#include "views.h"

static const char diff_usage[] =
	"usage: wallprof diff [options] BASE NEW\n"
	"\n"
	"Compare two profiles: wall time by state and by function, what grew and\n"
	"what shrank, as shares of all samples and as wall time.\n"
	"\n"
	"  -o, --output OUT       also write a differential flame graph (.svg):\n"
	"                         NEW's shape, red where it grew, blue where it shrank\n"
	"  -n, --top N            rows per table (default 10)\n"
	"      --state LIST       only samples in these states (see convert --help)\n"
	"  -h, --help             this help\n"
	"\n"
	"Exit status: 0 success; 2 unreadable profile or output; 64 bad command line.\n";

/* Inclusive sample counts per function name (each function once per
 * sample), and samples per state; returns how many samples were counted. */
static uint64_t count_functions(const struct profile *p, const struct view_opts *vo,
				struct tally *c, uint64_t *states)
{
	uint64_t total = 0;
	const char **names = NULL;
	size_t cap = 0;
	for (size_t k = 0; k < p->n_samples; k++) {
		const struct profile_sample *s = &p->samples[k];
		if (!view_sample_selected(vo, s))
			continue;
		total++;
		states[s->state]++;
		const struct profile_stack *st = &p->stacks[s->stack];
		GROW(names, cap, st->n + 1);
		for (uint32_t j = 0; j < st->n; j++)
			names[j] = p->frames[st->frames[j]].function;
		size_t n = unique_names(names, st->n);
		for (size_t j = 0; j < n; j++)
			tally_add(c, names[j], 1);
	}
	free(names);
	return total;
}

struct change {
	const char *name;
	double base_pct, new_pct;
	uint64_t base_ns, new_ns;
};

static int by_delta_desc(const void *a, const void *b)
{
	const struct change *x = a, *y = b;
	double dx = x->new_pct - x->base_pct, dy = y->new_pct - y->base_pct;
	return (dx < dy) - (dx > dy);
}

static void print_change(const struct change *c)
{
	char b[32], n[32];
	double d = c->new_pct - c->base_pct;
	int64_t dns = (int64_t)c->new_ns - (int64_t)c->base_ns;
	printf("    %+6.1f pts  %-40s %5.1f%% -> %5.1f%%   %s -> %s (%s%s)\n", d, c->name,
	       c->base_pct, c->new_pct, fmt_duration(b, sizeof(b), c->base_ns),
	       fmt_duration(n, sizeof(n), c->new_ns), dns < 0 ? "-" : "+",
	       fmt_duration((char[32]){0}, 32, (uint64_t)(dns < 0 ? -dns : dns)));
}

static uint64_t period_ns(const struct profile *p)
{
	return NS_PER_SEC / (p->frequency_hz ? p->frequency_hz : 1);
}

int cmd_diff(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'},
		{"top", required_argument, NULL, 'n'},
		{"state", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *out = NULL, *states = NULL;
	unsigned top = 10;
	uint64_t v;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'n':
			if (!parse_uint(optarg, 1, 100000, &v)) {
				error("invalid --top '%s'", optarg);
				return EXIT_USAGE;
			}
			top = (unsigned)v;
			break;
		case 's': states = optarg; break;
		case 'h': fputs(diff_usage, stdout); return EXIT_OK;
		default:
			error("diff: unknown or incomplete option '%s'", argv[optind - 1]);
			hint("see 'wallprof diff --help'");
			return EXIT_USAGE;
		}
	}
	if (optind + 2 != argc) {
		error("diff: give two profiles, BASE and NEW");
		hint("see 'wallprof diff --help'");
		return EXIT_USAGE;
	}
	struct view_opts vo = {0};
	const struct view *view = NULL;
	if (out && convert_parse_view(NULL, out, states, &view, &vo) < 0)
		return EXIT_USAGE;
	if (!out && states && view_parse_states(states, &vo.state_mask) < 0) {
		error("invalid --state '%s'", states);
		return EXIT_USAGE;
	}
	if (view && view != &view_svg) {
		error("diff writes a flame graph: give -o FILE.svg");
		return EXIT_USAGE;
	}
	struct profile base, cur;
	char err[256];
	if (profile_read_json(argv[optind], &base, err, sizeof(err)) < 0) {
		error("cannot read profile '%s': %s", argv[optind], err);
		return EXIT_FAILURE_;
	}
	if (profile_read_json(argv[optind + 1], &cur, err, sizeof(err)) < 0) {
		error("cannot read profile '%s': %s", argv[optind + 1], err);
		profile_release(&base);
		return EXIT_FAILURE_;
	}
	struct tally fb = {0}, fn = {0};
	uint64_t sb[ST__COUNT] = {0}, sn[ST__COUNT] = {0};
	uint64_t tb = count_functions(&base, &vo, &fb, sb),
		 tn = count_functions(&cur, &vo, &fn, sn);
	char d1[32], d2[32];
	printf("wallprof diff: %s -> %s\n\n", argv[optind], argv[optind + 1]);
	printf("  base  %llu samples, %s at %u Hz\n  new   %llu samples, %s at %u Hz\n\n",
	       (unsigned long long)tb, fmt_duration(d1, sizeof(d1), base.duration_ns),
	       base.frequency_hz, (unsigned long long)tn,
	       fmt_duration(d2, sizeof(d2), cur.duration_ns), cur.frequency_hz);
	if (tb < 100 || tn < 100)
		printf("  (fewer than 100 samples on one side: shares move by several points "
		       "by chance)\n\n");
	double pb = tb ? 100.0 / (double)tb : 0, pn = tn ? 100.0 / (double)tn : 0;
	printf("By state (share of all samples)\n");
	for (int s = 0; s < ST__COUNT; s++) {
		if (!sb[s] && !sn[s])
			continue;
		struct change ch = {state_name(s), (double)sb[s] * pb, (double)sn[s] * pn,
				    sb[s] * period_ns(&base), sn[s] * period_ns(&cur)};
		print_change(&ch);
	}
	/* Every function of either side, with both shares. */
	struct change *all = xcalloc(fb.n + fn.n + 1, sizeof(*all));
	size_t n_all = 0;
	for (size_t i = 0; i < fn.n; i++) {
		uint32_t at;
		uint64_t bc = strmap_get(&fb.index, fn.names[i], &at) ? fb.counts[at] : 0;
		all[n_all++] =
			(struct change){fn.names[i], (double)bc * pb, (double)fn.counts[i] * pn,
					bc * period_ns(&base), fn.counts[i] * period_ns(&cur)};
	}
	for (size_t i = 0; i < fb.n; i++) {
		uint32_t at;
		if (!strmap_get(&fn.index, fb.names[i], &at))
			all[n_all++] = (struct change){fb.names[i], (double)fb.counts[i] * pb, 0,
						       fb.counts[i] * period_ns(&base), 0};
	}
	qsort(all, n_all, sizeof(*all), by_delta_desc);
	printf("\nFunctions that grew (inclusive share of all samples)\n");
	for (size_t i = 0, k = 0; i < n_all && k < top; i++)
		if (all[i].new_pct - all[i].base_pct >= 0.05) {
			print_change(&all[i]);
			k++;
		}
	printf("\nFunctions that shrank\n");
	for (size_t i = n_all, k = 0; i-- > 0 && k < top;)
		if (all[i].base_pct - all[i].new_pct >= 0.05) {
			print_change(&all[i]);
			k++;
		}
	printf("\n");
	int code = EXIT_OK;
	if (out) {
		vo.base = &base;
		if (convert_write(view, &cur, &vo, out) < 0)
			code = EXIT_FAILURE_;
		else
			fprintf(stderr, "wallprof: wrote the differential flame graph to %s\n",
				out);
	}
	free(all);
	tally_release(&fb);
	tally_release(&fn);
	profile_release(&base);
	profile_release(&cur);
	return code;
}
