/*
 * views/svg.c: a self-contained interactive flame graph, written by
 * wallprof itself. Frames are coloured by the state their samples were in
 * (on-CPU, I/O, lock, sleep, other syscall); click a frame to zoom into it,
 * the search box highlights matching frames and says what share they have,
 * and every frame's tooltip gives its samples, share and wall time.
 *
 * With a base profile (wallprof diff), widths are the new profile's and
 * colours say what grew (red) or shrank (blue) between the two, by share of
 * all samples, as in a differential flame graph.
 *
 * The tree is built from distinct (thread, stack, state label) paths, so
 * millions of samples cost one insertion per distinct path.
 */
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"
#include "states.h"
#include "util.h"
#include "views.h"

#define WIDTH 1200
#define FRAME_H 17
#define PAD_TOP 50
#define PAD_SIDE 10
#define MIN_PX 0.2

struct node {
	const char *name; /* borrowed from the profile or the label pool */
	uint64_t count;
	uint64_t states[ST__COUNT];
	double base; /* diff: the base profile's share of all samples */
	struct node *child, *next;
};

struct tree {
	struct node root;
	struct strmap labels; /* label pool for leaf and thread-root names */
	char **pool;
	size_t n_pool, cap_pool;
};

static const char *pooled(struct tree *t, const char *s)
{
	uint32_t id;
	if (!strmap_get(&t->labels, s, &id)) {
		GROW(t->pool, t->cap_pool, t->n_pool + 1);
		t->pool[t->n_pool] = xstrdup(s);
		id = (uint32_t)t->n_pool++;
		strmap_put(&t->labels, s, id);
	}
	return t->pool[id];
}

static struct node *child_of(struct node *n, const char *name)
{
	for (struct node *c = n->child; c; c = c->next)
		if (c->name == name || !strcmp(c->name, name))
			return c;
	struct node *c = xcalloc(1, sizeof(*c));
	c->name = name;
	c->next = n->child;
	n->child = c;
	return c;
}

static void free_nodes(struct node *n)
{
	for (struct node *c = n->child, *next; c; c = next) {
		next = c->next;
		free_nodes(c);
		free(c);
	}
}

/* Insert every selected sample of p; returns the number inserted. With
 * into_base, only the base shares are set, on matching paths. */
static uint64_t tree_add(struct tree *t, const struct profile *p, const struct view_opts *o,
			 bool into_base, uint64_t base_total)
{
	struct strmap seen; /* "tid/stack/label" -> distinct path index */
	strmap_init(&seen);
	uint64_t *counts = NULL, inserted = 0;
	size_t *first = NULL, n = 0, cap = 0, cap_first = 0;
	for (size_t i = 0; i < p->n_samples; i++) {
		const struct profile_sample *s = &p->samples[i];
		if (!view_sample_selected(o, s))
			continue;
		char key[160], label[96];
		snprintf(key, sizeof(key), "%d/%u/%u/%s", o->per_thread ? (int)s->tid : 0,
			 (unsigned)s->stack, (unsigned)s->state,
			 sample_leaf_label(s, label, sizeof(label)));
		uint32_t at;
		if (!strmap_get(&seen, key, &at)) {
			GROW(counts, cap, n + 1);
			GROW(first, cap_first, n + 1);
			counts[n] = 0;
			first[n] = i;
			at = (uint32_t)n++;
			strmap_put(&seen, key, at);
		}
		counts[at]++;
		inserted++;
	}
	for (size_t k = 0; k < n; k++) {
		const struct profile_sample *s = &p->samples[first[k]];
		const struct profile_stack *st = &p->stacks[s->stack];
		struct node *cur = &t->root;
		char label[128];
		if (into_base)
			cur->base += (double)counts[k] / (double)base_total;
		else {
			cur->count += counts[k];
			cur->states[s->state] += counts[k];
		}
		const char *proc = o->per_thread ? process_label(p, s->tid) : NULL;
		for (int level = proc ? 0 : 1; level < 2 && o->per_thread; level++) {
			if (level == 0)
				snprintf(label, sizeof(label), "%s", proc);
			else
				snprintf(label, sizeof(label), "%s (%d)",
					 profile_thread_name(profile_find_thread(p, s->tid)),
					 (int)s->tid);
			cur = child_of(cur, pooled(t, label));
			if (into_base)
				cur->base += (double)counts[k] / (double)base_total;
			else {
				cur->count += counts[k];
				cur->states[s->state] += counts[k];
			}
		}
		for (uint32_t j = st->n + 1; j-- > 0;) {
			const char *name =
				j == 0 ? pooled(t, sample_leaf_label(s, label, sizeof(label)))
				       : p->frames[st->frames[j - 1]].function;
			cur = child_of(cur, name);
			if (into_base) {
				cur->base += (double)counts[k] / (double)base_total;
			} else {
				cur->count += counts[k];
				cur->states[s->state] += counts[k];
			}
		}
	}
	free(counts);
	free(first);
	strmap_release(&seen);
	return inserted;
}

/* Colour of a frame: by its dominant state, or by its change in a diff. */
static void node_color(const struct node *n, uint64_t total, bool diff, char *buf, size_t size)
{
	if (diff) {
		double now = total ? (double)n->count / (double)total : 0;
		double delta = now - n->base;
		double mag = delta < 0 ? -delta : delta;
		int v = 220 - (int)(mag * 4 * 200 > 200 ? 200 : mag * 4 * 200);
		if (delta > 0.0005)
			snprintf(buf, size, "rgb(255,%d,%d)", v, v);
		else if (delta < -0.0005)
			snprintf(buf, size, "rgb(%d,%d,255)", v, v);
		else
			snprintf(buf, size, "rgb(220,220,220)");
		return;
	}
	int best = 0;
	for (int s = 1; s < ST__COUNT; s++)
		if (n->states[s] > n->states[best])
			best = s;
	/* A small deterministic variation keeps neighbours apart. */
	unsigned h = 0;
	for (const char *c = n->name; *c; c++)
		h = h * 31 + (unsigned char)*c;
	int j = (int)(h % 40);
	switch (best) {
	case ST_ONCPU: snprintf(buf, size, "rgb(%d,%d,40)", 225 + j / 2, 110 + j * 2); break;
	case ST_RUNNABLE: snprintf(buf, size, "rgb(%d,%d,60)", 220 + j / 2, 190 + j); break;
	case ST_SYSCALL: snprintf(buf, size, "rgb(70,%d,%d)", 130 + j * 2, 200 + j / 2); break;
	case ST_DISK: snprintf(buf, size, "rgb(40,%d,%d)", 80 + j, 170 + j); break;
	case ST_LOCK: snprintf(buf, size, "rgb(%d,70,%d)", 170 + j, 170 + j); break;
	case ST_SLEEP: snprintf(buf, size, "rgb(%d,%d,%d)", 120 + j, 170 + j, 120 + j); break;
	default: snprintf(buf, size, "rgb(%d,%d,%d)", 160 + j, 160 + j, 160 + j); break;
	}
}

static void put_xml(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\t')
				fputc(*s, f);
		}
	}
}

static const char *state_word(const struct node *n)
{
	int best = 0;
	for (int s = 1; s < ST__COUNT; s++)
		if (n->states[s] > n->states[best])
			best = s;
	return state_name(best);
}

struct layout {
	FILE *f;
	uint64_t total;
	double scale; /* px per sample */
	uint64_t period_ns;
	bool diff;
	int max_depth;
};

static int depth_of(const struct node *n)
{
	int d = 0;
	for (const struct node *c = n->child; c; c = c->next) {
		int k = depth_of(c) + 1;
		if (k > d)
			d = k;
	}
	return d;
}

static void emit(struct layout *l, const struct node *n, double x, int depth)
{
	double w = (double)n->count * l->scale;
	if (w < MIN_PX)
		return;
	double y = PAD_TOP + (double)(l->max_depth - depth) * FRAME_H;
	char color[48], dur[32];
	node_color(n, l->total, l->diff, color, sizeof(color));
	double pct = 100.0 * (double)n->count / (double)(l->total ? l->total : 1);
	fprintf(l->f, "<g class=\"f\" data-x=\"%.2f\" data-w=\"%.2f\" data-d=\"%d\"><title>", x, w,
		depth);
	put_xml(l->f, n->name);
	fprintf(l->f, " (%llu samples, %.2f%%, %s, mostly %s", (unsigned long long)n->count, pct,
		fmt_duration(dur, sizeof(dur), n->count * l->period_ns), state_word(n));
	if (l->diff)
		fprintf(l->f, "; was %.2f%%", 100.0 * n->base);
	fprintf(l->f,
		")</title><rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" "
		"fill=\"%s\" rx=\"2\"/><text x=\"%.2f\" y=\"%.1f\"></text></g>\n",
		PAD_SIDE + x, y, w, FRAME_H - 1, color, PAD_SIDE + x + 3, y + FRAME_H - 5);
	for (const struct node *c = n->child; c; c = c->next) {
		emit(l, c, x, depth + 1);
		x += (double)c->count * l->scale;
	}
}

/* Children in name order, so the graph reads alphabetically like flamegraph.pl. */
static int by_name(const void *a, const void *b)
{
	return strcmp((*(struct node *const *)a)->name, (*(struct node *const *)b)->name);
}

static void sort_children(struct node *n)
{
	size_t k = 0;
	for (struct node *c = n->child; c; c = c->next)
		k++;
	if (k > 1) {
		struct node **v = xmalloc(k * sizeof(*v));
		k = 0;
		for (struct node *c = n->child; c; c = c->next)
			v[k++] = c;
		qsort(v, k, sizeof(*v), by_name);
		for (size_t i = 0; i < k; i++)
			v[i]->next = i + 1 < k ? v[i + 1] : NULL;
		n->child = v[0];
		free(v);
	}
	for (struct node *c = n->child; c; c = c->next)
		sort_children(c);
}

static const char script[] =
	"<script type=\"text/ecmascript\"><![CDATA[\n"
	"var W="
	"1180"
	",frames=[],zoomed=null,details,matchedText;\n"
	"function init(){frames=Array.prototype.slice.call(document.querySelectorAll('g.f'));\n"
	" details=document.getElementById('details');matchedText=document.getElementById('matched');\n"
	" frames.forEach(function(g){g.x=+g.dataset.x;g.w=+g.dataset.w;g.d=+g.dataset.d;\n"
	"  g.label=g.querySelector('title').textContent;g.fname=g.label.replace(/ \\(\\d+ samples.*$/,'');\n"
	"  g.addEventListener('click',function(){zoom(g);});\n"
	"  g.addEventListener('mouseover',function(){details.textContent=g.label;});\n"
	"  g.addEventListener('mouseout',function(){details.textContent=' ';});});\n"
	" document.getElementById('reset').addEventListener('click',function(){zoom(null);});\n"
	" document.getElementById('search').addEventListener('click',search);\n"
	" draw(0,frames.length?frames[0].w:W,0);}\n"
	"function fit(g,w){var t=g.querySelector('text'),n=Math.floor((w-6)/7);\n"
	" t.textContent=n<3?'':(g.fname.length<=n?g.fname:g.fname.substr(0,n-2)+'..');}\n"
	"function draw(x0,w0,d0){var s=W/w0;frames.forEach(function(g){\n"
	"  var r=g.querySelector('rect'),t=g.querySelector('text'),x,w;\n"
	"  if(g.d<d0&&g.x<=x0+0.01&&g.x+g.w>=x0+w0-0.01){x=0;w=W;}\n"
	"  else if(g.d>=d0&&g.x>=x0-0.01&&g.x+g.w<=x0+w0+0.01){x=(g.x-x0)*s;w=g.w*s;}\n"
	"  else{g.style.display='none';return;}\n"
	"  g.style.display='';r.setAttribute('x',10+x);r.setAttribute('width',w);\n"
	"  t.setAttribute('x',13+x);fit(g,w);});}\n"
	"function zoom(g){zoomed=g;if(!g){draw(0,frames.length?frames[0].w:W,0);}\n"
	" else draw(g.x,g.w,g.d);document.getElementById('reset').style.opacity=g?1:0.3;}\n"
	"function search(){var term=prompt('Search frames (regular expression)','');\n"
	" if(term===null)return;var re;try{re=new RegExp(term);}catch(e){return;}\n"
	" var total=frames.length?frames[0].w:1,spans=[];\n"
	" frames.forEach(function(g){var r=g.querySelector('rect');\n"
	"  if(term&&re.test(g.fname)){r.setAttribute('data-fill',r.getAttribute('data-fill')||r.getAttribute('fill'));\n"
	"   r.setAttribute('fill','rgb(230,0,230)');spans.push([g.x,g.x+g.w]);}\n"
	"  else if(r.getAttribute('data-fill'))r.setAttribute('fill',r.getAttribute('data-fill'));});\n"
	" spans.sort(function(a,b){return a[0]-b[0];});var sum=0,end=-1;\n"
	" spans.forEach(function(s){if(s[0]>=end){sum+=s[1]-s[0];end=s[1];}\n"
	"  else if(s[1]>end){sum+=s[1]-end;end=s[1];}});\n"
	" matchedText.textContent=term?'Matched: '+(100*sum/total).toFixed(1)+'%':'';}\n"
	"window.addEventListener('load',init);\n"
	"]]></script>\n";

static int write_graph(const struct profile *p, const struct view_opts *o, FILE *f)
{
	struct tree t = {0};
	strmap_init(&t.labels);
	t.root.name = "all";
	uint64_t total = tree_add(&t, p, o, false, 0);
	bool diff = o->base != NULL;
	if (diff) {
		uint64_t base_total = 0;
		for (size_t i = 0; i < o->base->n_samples; i++)
			base_total += view_sample_selected(o, &o->base->samples[i]);
		if (base_total)
			tree_add(&t, o->base, o, true, base_total);
	}
	sort_children(&t.root);
	struct layout l = {f,
			   total,
			   total ? (double)(WIDTH - 2 * PAD_SIDE) / (double)total : 0,
			   NS_PER_SEC / (p->frequency_hz ? p->frequency_hz : 1),
			   diff,
			   depth_of(&t.root)};
	int height = PAD_TOP + (l.max_depth + 1) * FRAME_H + 40;
	fprintf(f,
		"<?xml version=\"1.0\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		"xmlns=\"http://www.w3.org/2000/svg\">\n"
		"<style>text{font-family:monospace;font-size:12px;fill:#000;pointer-events:none}"
		" g.f:hover rect{stroke:#000;stroke-width:0.5} .ui{cursor:pointer}</style>\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"#f8f8f8\"/>\n",
		WIDTH, height, WIDTH, height);
	char title[512], dur[32];
	snprintf(title, sizeof(title), "%s: %s (pid %d), %llu samples, %s at %u Hz",
		 diff ? "wallprof diff" : "wallprof", p->argc ? p->argv[0] : "?", p->pid,
		 (unsigned long long)total, fmt_duration(dur, sizeof(dur), p->duration_ns),
		 p->frequency_hz);
	fprintf(f, "<text x=\"%d\" y=\"20\" style=\"font-size:16px\">", WIDTH / 2 - 300);
	put_xml(f, title);
	fprintf(f,
		"</text>\n<text id=\"reset\" class=\"ui\" x=\"10\" y=\"40\" "
		"style=\"opacity:0.3;pointer-events:all\">Reset zoom</text>\n"
		"<text id=\"search\" class=\"ui\" x=\"%d\" y=\"40\" "
		"style=\"pointer-events:all\">Search</text>\n"
		"<text id=\"matched\" x=\"%d\" y=\"%d\"> </text>\n"
		"<text id=\"details\" x=\"10\" y=\"%d\"> </text>\n",
		WIDTH - 70, WIDTH - 200, height - 10, height - 10);
	if (!diff)
		fprintf(f,
			"<text x=\"120\" y=\"40\">colours: <tspan fill=\"rgb(235,140,40)\">on-CPU</tspan> "
			"<tspan fill=\"rgb(225,205,60)\">runnable</tspan> "
			"<tspan fill=\"rgb(70,150,215)\">I/O and other syscalls</tspan> "
			"<tspan fill=\"rgb(40,95,185)\">disk</tspan> "
			"<tspan fill=\"rgb(185,70,185)\">lock</tspan> "
			"<tspan fill=\"rgb(135,185,135)\">sleep</tspan></text>\n");
	else
		fprintf(f,
			"<text x=\"120\" y=\"40\">widths: new profile; "
			"<tspan fill=\"rgb(230,60,60)\">grew</tspan> / "
			"<tspan fill=\"rgb(60,60,230)\">shrank</tspan> in share of all samples</text>\n");
	fputs(script, f);
	if (total)
		emit(&l, &t.root, 0, 0);
	fputs("</svg>\n", f);
	free_nodes(&t.root);
	for (size_t i = 0; i < t.n_pool; i++)
		free(t.pool[i]);
	free(t.pool);
	strmap_release(&t.labels);
	return ferror(f) ? -1 : 0;
}

static int svg_write(const struct profile *p, const struct view_opts *o, FILE *f)
{
	static const struct view_opts all;
	return write_graph(p, o ? o : &all, f);
}

static const char *const svg_exts[] = {".svg", NULL};
const struct view view_svg = {"svg", svg_exts, svg_write};
