package deploy

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// problems collects what is wrong with a rendering, one sentence each, naming the object.
type problems []string

func (p *problems) addf(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// secretIndex holds the example Secrets (deploy/k8s/secrets.example.yaml) by name.
type secretIndex map[string]*corev1.Secret

// checkOptions says what a rendering must hold besides the rules every rendering follows.
type checkOptions struct {
	// Services must each run in exactly one Deployment.
	Services []string
	// Pinned requires every kefu image to carry one release tag, not latest.
	Pinned bool
	// Namespace, when set, is where every namespaced object must be.
	Namespace string
	// Postgres requires the CloudNativePG Cluster and its ScheduledBackup.
	Postgres bool
	// InitSQL is deploy/postgres/init.sql: the roles and schemas the Cluster's bootstrap must create.
	InitSQL []byte
	// NATS, when set, is the NATS chart's values; NATS_URL must name its Service.
	NATS *natsValues
}

// checker checks one rendering.
type checker struct {
	r       *rendering
	cat     catalog
	secrets secretIndex
	opt     checkOptions
	cluster *cnpgCluster
	p       problems
}

// check applies every rule to r and returns what is wrong.
func check(r *rendering, cat catalog, secrets secretIndex, opt checkOptions) problems {
	c := &checker{r: r, cat: cat, secrets: secrets, opt: opt}
	clusters := all[*cnpgCluster](r)
	switch {
	case len(clusters) == 1:
		c.cluster = clusters[0]
	case len(clusters) > 1:
		c.p.addf("%d CloudNativePG clusters; kefu expects one", len(clusters))
	case opt.Postgres:
		c.p.addf("no CloudNativePG Cluster")
	}
	c.checkObjects()
	c.checkDeployments()
	c.checkJobs()
	c.checkIngresses()
	c.checkImages()
	if c.cluster != nil {
		c.checkCluster(c.cluster)
		c.checkConnectionBudget(c.cluster)
	}
	return c.p
}

func (c *checker) checkObjects() {
	for _, o := range c.r.Objects {
		for _, msg := range validation.IsDNS1123Subdomain(o.Name) {
			c.p.addf("%s %q: name: %s", o.GVK.Kind, o.Name, msg)
		}
		if o.GVK.Kind == "Secret" {
			c.p.addf("Secret %s is rendered: secrets come from the secret store (secrets.example.yaml), never from kustomize", o.Name)
		}
		if c.opt.Namespace != "" && o.GVK.Kind != "Namespace" && o.Namespace != c.opt.Namespace {
			c.p.addf("%s %s is in namespace %q, want %q", o.GVK.Kind, o.Name, o.Namespace, c.opt.Namespace)
		}
	}
}

// checkDeployments checks each Deployment's pod, rollout, PodDisruptionBudget, autoscaler and Service.
func (c *checker) checkDeployments() {
	count := map[string]int{}
	for _, d := range all[*appsv1.Deployment](c.r) {
		where := "Deployment " + d.Name
		if len(d.Spec.Template.Spec.Containers) != 1 {
			c.p.addf("%s: %d containers, want the service's one", where, len(d.Spec.Template.Spec.Containers))
			continue
		}
		svc, _, ok := imageService(d.Spec.Template.Spec.Containers[0].Image)
		if !ok {
			c.p.addf("%s: image %q is not a kefu/<service> image", where, d.Spec.Template.Spec.Containers[0].Image)
			continue
		}
		count[svc]++
		c.checkPod(where, &d.Spec.Template.Spec, true)
		c.checkRollout(d)
	}
	for _, svc := range c.opt.Services {
		if count[svc] != 1 {
			c.p.addf("service %s runs in %d Deployments, want 1", svc, count[svc])
		}
	}
}

func (c *checker) checkJobs() {
	for _, j := range all[*batchv1.Job](c.r) {
		where := "Job " + j.Name
		if j.Spec.BackoffLimit == nil || *j.Spec.BackoffLimit != 0 {
			c.p.addf("%s: backoffLimit must be 0: a retried kefu command may act twice", where)
		}
		c.checkPod(where, &j.Spec.Template.Spec, false)
	}
}

// checkPod checks a pod template: security, volumes and every container.
func (c *checker) checkPod(where string, ps *corev1.PodSpec, serving bool) {
	if ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken {
		c.p.addf("%s: automountServiceAccountToken must be false: kefu never calls the Kubernetes API", where)
	}
	sc := ps.SecurityContext
	switch {
	case sc == nil:
		c.p.addf("%s: no pod securityContext", where)
	default:
		if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			c.p.addf("%s: pod securityContext.runAsNonRoot must be true", where)
		}
		if sc.RunAsUser == nil || *sc.RunAsUser == 0 {
			c.p.addf("%s: pod securityContext.runAsUser must be a non-zero uid (the image's user is a name, which the kubelet cannot check)", where)
		}
		if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			c.p.addf("%s: pod seccompProfile must be RuntimeDefault", where)
		}
	}
	for _, v := range ps.Volumes {
		if v.Secret != nil && len(v.Secret.Items) == 0 {
			c.p.addf("%s: volume %s mounts all of Secret %s: list the keys it needs", where, v.Name, v.Secret.SecretName)
		}
	}
	for i := range ps.InitContainers {
		c.checkContainer(where, ps, &ps.InitContainers[i], false)
	}
	for i := range ps.Containers {
		c.checkContainer(where, ps, &ps.Containers[i], serving)
	}
}

// envVar is one variable a container gets, from env or envFrom.
type envVar struct {
	Name      string
	Value     string                    // literal value, or a ConfigMap's
	Literal   bool                      // value: given
	ConfigMap string                    // from this ConfigMap (envFrom or configMapKeyRef)
	Secret    *corev1.SecretKeySelector // from this Secret's key
	Other     bool                      // fieldRef or resourceFieldRef
}

// refPattern finds $(NAME) references, which Kubernetes expands from variables defined before; wholeRef
// matches a value that is one reference and nothing else.
var (
	refPattern = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)
	wholeRef   = regexp.MustCompile(`^\$\(([A-Za-z_][A-Za-z0-9_]*)\)$`)
)

// runtimeVars are read by the Go runtime or the OpenTelemetry SDK, not by kefu's flags.
func runtimeVar(name string) bool {
	switch name {
	case "GOMEMLIMIT", "GOGC", "GOMAXPROCS", "GODEBUG":
		return true
	}
	return strings.HasPrefix(name, "OTEL_")
}

func (c *checker) checkContainer(owner string, ps *corev1.PodSpec, ctr *corev1.Container, serving bool) {
	where := fmt.Sprintf("%s container %s", owner, ctr.Name)
	svc, _, ok := imageService(ctr.Image)
	if !ok {
		c.p.addf("%s: image %q is not a kefu/<service> image", where, ctr.Image)
		return
	}
	bin, ok := c.cat[svc]
	if !ok {
		c.p.addf("%s: image %s: no services/%s/cmd/%s", where, ctr.Image, svc, svc)
		return
	}
	c.checkSecurity(where, ctr)
	c.checkResources(where, ctr)

	vars := c.containerEnv(where, ctr)
	byName := map[string]envVar{}
	for _, v := range vars {
		byName[v.Name] = v // env after envFrom: the later wins, as in Kubernetes
	}
	for i, v := range vars {
		c.checkVar(where, bin, vars, i, v)
	}
	if _, ok := byName["GOMEMLIMIT"]; !ok {
		c.p.addf("%s: no GOMEMLIMIT: the Go runtime would not collect before the memory limit", where)
	} else {
		c.checkMemLimit(where, byName["GOMEMLIMIT"].Value, ctr)
	}
	for _, name := range []string{"DATABASE_URL", "KEFU_MIGRATE_DATABASE_URL"} {
		if v, ok := byName[name]; ok {
			c.checkDatabaseURL(where, svc, ps, ctr, byName, v)
		}
	}
	if c.opt.NATS != nil {
		if v, ok := byName["NATS_URL"]; ok {
			c.checkNATSURL(where, v.Value)
		}
	}
	for _, v := range vars {
		f, ok := bin.ByEnv[v.Name]
		if ok && strings.HasSuffix(f.Name, "-addr") && f.Name != "grpc-addr" && f.Name != "http-addr" && f.Name != "metrics-addr" && v.Value != "" {
			c.checkPeerAddr(where, strings.TrimSuffix(f.Name, "-addr"), v)
		}
	}
	if serving {
		c.checkServing(where, bin, ctr, byName)
		c.checkGrace(where, bin, ps, ctr, byName)
	}
}

// checkGrace: the pod's termination grace period must cover the preStop pause and then the binary's own
// graceful stop: in-flight calls, then (gRPC services) event handlers in hand and the outbox relay's last
// pass, each up to KEFU_SHUTDOWN_TIMEOUT, then the telemetry flush. Both are set explicitly, so the sum is
// visible in the manifests.
func (c *checker) checkGrace(where string, bin binary, ps *corev1.PodSpec, ctr *corev1.Container, vars map[string]envVar) {
	need := time.Duration(0)
	for _, flag := range []string{"shutdown-timeout", "telemetry-flush-timeout"} {
		env := bin.ByFlag[flag].Env
		v, ok := vars[env]
		if !ok {
			c.p.addf("%s: %s is not set: the termination grace period cannot be checked against it", where, env)
			return
		}
		d, err := time.ParseDuration(v.Value)
		if err != nil {
			c.p.addf("%s: %s %q is not a duration", where, env, v.Value)
			return
		}
		if _, grpc := bin.ByFlag["grpc-addr"]; grpc && flag == "shutdown-timeout" {
			d *= 2
		}
		need += d
	}
	if l := ctr.Lifecycle; l != nil && l.PreStop != nil && l.PreStop.Sleep != nil {
		need += time.Duration(l.PreStop.Sleep.Seconds) * time.Second
	}
	grace := 30 * time.Second // Kubernetes' default
	if ps.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(*ps.TerminationGracePeriodSeconds) * time.Second
	}
	if grace <= need {
		c.p.addf("%s: terminationGracePeriodSeconds %s does not cover the preStop pause and the graceful stop (%s): the pod is killed mid-stop",
			where, grace, need)
	}
}

// containerEnv lists the container's variables in Kubernetes' order: envFrom, then env.
func (c *checker) containerEnv(where string, ctr *corev1.Container) []envVar {
	var vars []envVar
	for _, ef := range ctr.EnvFrom {
		switch {
		case ef.SecretRef != nil:
			c.p.addf("%s: envFrom Secret %s: name each secret variable with a secretKeyRef", where, ef.SecretRef.Name)
		case ef.ConfigMapRef != nil:
			if ef.Prefix != "" {
				c.p.addf("%s: envFrom ConfigMap %s with a prefix", where, ef.ConfigMapRef.Name)
			}
			cm := c.r.configMap(ef.ConfigMapRef.Name)
			if cm == nil {
				c.p.addf("%s: envFrom ConfigMap %s, which is not rendered", where, ef.ConfigMapRef.Name)
				continue
			}
			keys := make([]string, 0, len(cm.Data))
			for k := range cm.Data {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				vars = append(vars, envVar{Name: k, Value: cm.Data[k], ConfigMap: cm.Name})
			}
		}
	}
	for _, e := range ctr.Env {
		v := envVar{Name: e.Name, Value: e.Value, Literal: e.ValueFrom == nil}
		if e.ValueFrom != nil {
			switch {
			case e.ValueFrom.SecretKeyRef != nil:
				v.Secret = e.ValueFrom.SecretKeyRef
			case e.ValueFrom.ConfigMapKeyRef != nil:
				ref := e.ValueFrom.ConfigMapKeyRef
				v.ConfigMap = ref.Name
				if cm := c.r.configMap(ref.Name); cm == nil {
					c.p.addf("%s: %s from ConfigMap %s, which is not rendered", where, e.Name, ref.Name)
				} else {
					v.Value = cm.Data[ref.Key]
				}
			default:
				v.Other = true
			}
		}
		vars = append(vars, v)
	}
	return vars
}

// checkVar checks that the binary reads variable i, that secrets come from Secrets, and that literals
// hold no credential.
func (c *checker) checkVar(where string, bin binary, vars []envVar, i int, v envVar) {
	for _, msg := range validation.IsEnvVarName(v.Name) {
		c.p.addf("%s: variable %q: %s", where, v.Name, msg)
	}
	f, isFlag := bin.ByEnv[v.Name]
	switch {
	case isFlag:
		if f.Secret && v.Secret == nil {
			c.p.addf("%s: %s is a secret (--%s): take it from a secretKeyRef, not a literal or a ConfigMap", where, v.Name, f.Name)
		}
	case runtimeVar(v.Name):
	case strings.HasPrefix(v.Name, "KEFU_"):
		c.p.addf("%s: sets %s, which %s does not read (it has no such flag)", where, v.Name, bin.Service)
	case v.Secret != nil && referencedAfter(vars, i):
		// A secret spliced into a later variable, such as a password into DATABASE_URL.
	default:
		c.p.addf("%s: sets %s, which %s does not read", where, v.Name, bin.Service)
	}
	if v.Secret != nil {
		c.checkSecretRef(where, v.Name, v.Secret)
	}
	if !v.Literal {
		return
	}
	for _, m := range refPattern.FindAllStringSubmatch(v.Value, -1) {
		if !definedBefore(vars, i, m[1]) {
			c.p.addf("%s: %s refers to $(%s), which is not defined before it (Kubernetes would leave it as is)", where, v.Name, m[1])
		}
	}
	if u, err := url.Parse(v.Value); err == nil && u.User != nil {
		if pw, set := u.User.Password(); set {
			m := wholeRef.FindStringSubmatch(pw)
			if m == nil || !secretDefinedBefore(vars, i, m[1]) {
				c.p.addf("%s: %s holds a literal credential: splice the password in from a secretKeyRef variable", where, v.Name)
			}
		}
	}
}

func referencedAfter(vars []envVar, i int) bool {
	for _, v := range vars[i+1:] {
		if v.Literal && strings.Contains(v.Value, "$("+vars[i].Name+")") {
			return true
		}
	}
	return false
}

func definedBefore(vars []envVar, i int, name string) bool {
	return slices.ContainsFunc(vars[:i], func(v envVar) bool { return v.Name == name })
}

func secretDefinedBefore(vars []envVar, i int, name string) bool {
	return slices.ContainsFunc(vars[:i], func(v envVar) bool { return v.Name == name && v.Secret != nil })
}

func (c *checker) checkSecretRef(where, name string, ref *corev1.SecretKeySelector) {
	s, ok := c.secrets[ref.Name]
	if !ok {
		c.p.addf("%s: %s reads Secret %s, which secrets.example.yaml does not describe", where, name, ref.Name)
		return
	}
	if _, ok := s.StringData[ref.Key]; !ok {
		c.p.addf("%s: %s reads key %s of Secret %s, which secrets.example.yaml does not list", where, name, ref.Key, ref.Name)
	}
}

func (c *checker) checkSecurity(where string, ctr *corev1.Container) {
	sc := ctr.SecurityContext
	if sc == nil {
		c.p.addf("%s: no securityContext", where)
		return
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		c.p.addf("%s: allowPrivilegeEscalation must be false", where)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		c.p.addf("%s: readOnlyRootFilesystem must be true", where)
	}
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		c.p.addf("%s: runAsNonRoot must be true", where)
	}
	if sc.Privileged != nil && *sc.Privileged {
		c.p.addf("%s: privileged", where)
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
		c.p.addf("%s: capabilities must drop ALL and add none", where)
	}
}

func (c *checker) checkResources(where string, ctr *corev1.Container) {
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, hasReq := ctr.Resources.Requests[name]
		lim, hasLim := ctr.Resources.Limits[name]
		if !hasReq || req.IsZero() {
			c.p.addf("%s: no %s request", where, name)
		}
		if !hasLim || lim.IsZero() {
			c.p.addf("%s: no %s limit", where, name)
		}
		if hasReq && hasLim && req.Cmp(lim) > 0 {
			c.p.addf("%s: %s request %s above its limit %s", where, name, req.String(), lim.String())
		}
	}
}

var memLimitPattern = regexp.MustCompile(`^(\d+)(B|KiB|MiB|GiB|TiB)?$`)

// checkMemLimit keeps GOMEMLIMIT (Go's syntax) between half and 95% of the memory limit.
func (c *checker) checkMemLimit(where, value string, ctr *corev1.Container) {
	m := memLimitPattern.FindStringSubmatch(value)
	if m == nil {
		c.p.addf("%s: GOMEMLIMIT %q is not a Go memory limit (bytes, or KiB, MiB, GiB)", where, value)
		return
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	shift := map[string]uint{"": 0, "B": 0, "KiB": 10, "MiB": 20, "GiB": 30, "TiB": 40}[m[2]]
	soft := n << shift
	lim, ok := ctr.Resources.Limits[corev1.ResourceMemory]
	if !ok {
		return
	}
	hard := lim.Value()
	if soft*100 > hard*95 || soft*2 < hard {
		c.p.addf("%s: GOMEMLIMIT %s should be 50–95%% of the memory limit %s", where, value, lim.String())
	}
}

// checkDatabaseURL checks a Postgres URL: the service's own role, its password from that role's Secret,
// the cluster's primary, TLS verified against the cluster's CA.
func (c *checker) checkDatabaseURL(where, svc string, ps *corev1.PodSpec, ctr *corev1.Container, vars map[string]envVar, v envVar) {
	role := "kefu_" + svc
	if v.Name == "KEFU_MIGRATE_DATABASE_URL" {
		role += "_owner"
	}
	u, err := url.Parse(v.Value)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.User == nil {
		c.p.addf("%s: %s is not a postgres:// URL with a user", where, v.Name)
		return
	}
	if u.User.Username() != role {
		c.p.addf("%s: %s connects as %s, want %s", where, v.Name, u.User.Username(), role)
	}
	pw, _ := u.User.Password()
	m := wholeRef.FindStringSubmatch(pw)
	if m == nil {
		return // checkVar reported it
	}
	ref := vars[m[1]].Secret
	if ref == nil {
		return
	}
	if ref.Key != "password" {
		c.p.addf("%s: %s's password is key %s of %s, want key password", where, v.Name, ref.Key, ref.Name)
	}
	if s, ok := c.secrets[ref.Name]; ok && (s.Type != corev1.SecretTypeBasicAuth || s.StringData["username"] != role) {
		c.p.addf("%s: %s's password comes from %s, which is not the basic-auth Secret of role %s", where, v.Name, ref.Name, role)
	}
	q := u.Query()
	if q.Get("sslmode") != "verify-full" {
		c.p.addf("%s: %s must use sslmode=verify-full", where, v.Name)
	}
	if c.cluster == nil {
		return
	}
	cl := c.cluster
	if u.Hostname() != cl.Metadata.Name+"-rw" {
		c.p.addf("%s: %s connects to %s, want the primary's Service %s-rw", where, v.Name, u.Hostname(), cl.Metadata.Name)
	}
	if db := cl.Spec.Bootstrap.InitDB; db != nil && strings.TrimPrefix(u.Path, "/") != db.Database {
		c.p.addf("%s: %s opens database %s, want %s", where, v.Name, strings.TrimPrefix(u.Path, "/"), db.Database)
	}
	i := slices.IndexFunc(cl.Spec.Managed.Roles, func(r cnpgRole) bool { return r.Name == role })
	if i < 0 {
		c.p.addf("%s: %s connects as %s, which Cluster %s does not manage", where, v.Name, role, cl.Metadata.Name)
	} else if got := cl.Spec.Managed.Roles[i].PasswordSecret.Name; got != ref.Name {
		c.p.addf("%s: %s takes %s's password from %s, but the Cluster sets it from %s", where, v.Name, role, ref.Name, got)
	}
	c.checkCAFile(where, v.Name, q.Get("sslrootcert"), cl.Metadata.Name+"-ca", ps, ctr)
}

// checkCAFile checks that file is the ca.crt of Secret caSecret, mounted into ctr.
func (c *checker) checkCAFile(where, name, file, caSecret string, ps *corev1.PodSpec, ctr *corev1.Container) {
	for _, vm := range ctr.VolumeMounts {
		if path.Dir(file) != path.Clean(vm.MountPath) {
			continue
		}
		for _, vol := range ps.Volumes {
			if vol.Name != vm.Name || vol.Secret == nil || vol.Secret.SecretName != caSecret {
				continue
			}
			for _, it := range vol.Secret.Items {
				if it.Key == "ca.crt" && it.Path == path.Base(file) {
					return
				}
			}
		}
	}
	c.p.addf("%s: %s's sslrootcert %q is not ca.crt of Secret %s mounted in the container", where, name, file, caSecret)
}

func (c *checker) checkNATSURL(where, value string) {
	u, err := url.Parse(value)
	if err != nil || u.Scheme != "nats" || u.Hostname() != c.opt.NATS.FullnameOverride || u.Port() != "4222" {
		c.p.addf("%s: NATS_URL %q, want nats://%s:4222 (the Helm release's client Service)", where, value, c.opt.NATS.FullnameOverride)
	}
}

// checkPeerAddr checks that --<peer>-addr names a Service port in front of the peer's Deployment.
func (c *checker) checkPeerAddr(where, peer string, v envVar) {
	host, portText, err := net.SplitHostPort(v.Value)
	port, perr := strconv.Atoi(portText)
	if err != nil || perr != nil {
		c.p.addf("%s: %s %q is not host:port", where, v.Name, v.Value)
		return
	}
	for _, s := range all[*corev1.Service](c.r) {
		if s.Name != host {
			continue
		}
		if !slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return int(p.Port) == port }) {
			c.p.addf("%s: %s %q: Service %s has no port %d", where, v.Name, v.Value, host, port)
		}
		for _, d := range all[*appsv1.Deployment](c.r) {
			if !selects(s.Spec.Selector, d.Spec.Template.Labels) {
				continue
			}
			if svc, _, _ := imageService(mainImage(d)); svc != peer {
				c.p.addf("%s: %s %q reaches Deployment %s, which runs %s, not %s", where, v.Name, v.Value, d.Name, svc, peer)
			}
		}
		return
	}
	c.p.addf("%s: %s %q: no Service %s", where, v.Name, v.Value, host)
}

// checkServing checks a serving container: it listens on every interface at its declared port, and its
// probes ask that port (gRPC health for the gRPC services, /healthz and /readyz for the gateway).
func (c *checker) checkServing(where string, bin binary, ctr *corev1.Container, vars map[string]envVar) {
	if ctr.ReadinessProbe == nil || ctr.LivenessProbe == nil {
		c.p.addf("%s: needs both a readiness and a liveness probe", where)
		return
	}
	listen, portName := "grpc-addr", "grpc"
	if _, ok := bin.ByFlag["http-addr"]; ok {
		listen, portName = "http-addr", "http"
	}
	env := bin.ByFlag[listen].Env
	addr, ok := vars[env]
	if !ok {
		c.p.addf("%s: %s is not set: the default listens on loopback only", where, env)
		return
	}
	host, portText, err := net.SplitHostPort(addr.Value)
	port, perr := strconv.Atoi(portText)
	if err != nil || perr != nil {
		c.p.addf("%s: %s %q is not host:port", where, env, addr.Value)
		return
	}
	if host != "" && host != "0.0.0.0" && host != "::" {
		c.p.addf("%s: %s %q listens on %s only: probes and Services reach the pod's address", where, env, addr.Value, host)
	}
	i := slices.IndexFunc(ctr.Ports, func(p corev1.ContainerPort) bool { return p.Name == portName })
	if i < 0 || int(ctr.Ports[i].ContainerPort) != port {
		c.p.addf("%s: needs container port %q = %d (%s)", where, portName, port, env)
	}
	probes := map[string]*corev1.Probe{"readiness": ctr.ReadinessProbe, "liveness": ctr.LivenessProbe}
	if ctr.StartupProbe != nil {
		probes["startup"] = ctr.StartupProbe
	}
	for kind, p := range probes {
		switch portName {
		case "grpc":
			if p.GRPC == nil || int(p.GRPC.Port) != port {
				c.p.addf("%s: %s probe must be gRPC health on port %d", where, kind, port)
			}
		case "http":
			want := map[string]string{"readiness": "/readyz", "liveness": "/healthz", "startup": "/healthz"}[kind]
			if p.HTTPGet == nil || p.HTTPGet.Path != want || !portMatches(p.HTTPGet.Port, ctr, port) {
				c.p.addf("%s: %s probe must GET %s on port %d", where, kind, want, port)
			}
		}
	}
}

func portMatches(p intstr.IntOrString, ctr *corev1.Container, port int) bool {
	if p.Type == intstr.Int {
		return p.IntValue() == port
	}
	return slices.ContainsFunc(ctr.Ports, func(cp corev1.ContainerPort) bool {
		return cp.Name == p.StrVal && int(cp.ContainerPort) == port
	})
}

// checkRollout checks what runs a Deployment: no fixed replicas, one PodDisruptionBudget, one autoscaler,
// a Service whose ports exist.
func (c *checker) checkRollout(d *appsv1.Deployment) {
	where := "Deployment " + d.Name
	podLabels := d.Spec.Template.Labels
	if d.Spec.Replicas != nil {
		c.p.addf("%s: sets replicas, which its HorizontalPodAutoscaler owns", where)
	}
	if d.Spec.Selector == nil || !selectsLabelSelector(d.Spec.Selector, podLabels) {
		c.p.addf("%s: selector does not match its pod template", where)
	}
	var pdbs []*policyv1.PodDisruptionBudget
	for _, pdb := range all[*policyv1.PodDisruptionBudget](c.r) {
		if pdb.Spec.Selector != nil && selectsLabelSelector(pdb.Spec.Selector, podLabels) {
			pdbs = append(pdbs, pdb)
		}
	}
	if len(pdbs) != 1 {
		c.p.addf("%s: %d PodDisruptionBudgets select its pods, want 1", where, len(pdbs))
	} else if pdbs[0].Spec.MaxUnavailable == nil && pdbs[0].Spec.MinAvailable == nil {
		c.p.addf("%s: its PodDisruptionBudget sets neither maxUnavailable nor minAvailable", where)
	}
	var hpas []*autoscalingv2.HorizontalPodAutoscaler
	for _, h := range all[*autoscalingv2.HorizontalPodAutoscaler](c.r) {
		ref := h.Spec.ScaleTargetRef
		if ref.Kind == "Deployment" && ref.Name == d.Name && ref.APIVersion == "apps/v1" {
			hpas = append(hpas, h)
		}
	}
	if len(hpas) != 1 {
		c.p.addf("%s: %d HorizontalPodAutoscalers target it, want 1", where, len(hpas))
	} else {
		h := hpas[0]
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 2 {
			c.p.addf("%s: its autoscaler allows fewer than 2 replicas", where)
		} else if h.Spec.MaxReplicas < *h.Spec.MinReplicas {
			c.p.addf("%s: its autoscaler's maxReplicas is below minReplicas", where)
		}
		if !slices.ContainsFunc(h.Spec.Metrics, func(m autoscalingv2.MetricSpec) bool {
			return m.Resource != nil && m.Resource.Name == corev1.ResourceCPU
		}) {
			c.p.addf("%s: its autoscaler has no CPU metric", where)
		}
	}
	services := 0
	for _, s := range all[*corev1.Service](c.r) {
		if !selects(s.Spec.Selector, podLabels) {
			continue
		}
		services++
		servesGRPC := len(d.Spec.Template.Spec.Containers) > 0 &&
			slices.ContainsFunc(d.Spec.Template.Spec.Containers[0].Ports, func(p corev1.ContainerPort) bool { return p.Name == "grpc" })
		if servesGRPC && s.Spec.ClusterIP != corev1.ClusterIPNone {
			c.p.addf("Service %s: a gRPC service's Service must be headless (clusterIP: None), so callers balance over its pods", s.Name)
		}
		for _, p := range s.Spec.Ports {
			if len(d.Spec.Template.Spec.Containers) == 0 || !targetsContainer(p.TargetPort, d.Spec.Template.Spec.Containers[0]) {
				c.p.addf("Service %s: port %s targets %s, which Deployment %s's container does not expose", s.Name, p.Name, p.TargetPort.String(), d.Name)
			}
		}
	}
	if services == 0 {
		c.p.addf("%s: no Service selects its pods", where)
	}
}

// mainImage is the image of a Deployment's (first) container.
func mainImage(d *appsv1.Deployment) string {
	if len(d.Spec.Template.Spec.Containers) == 0 {
		return ""
	}
	return d.Spec.Template.Spec.Containers[0].Image
}

func targetsContainer(t intstr.IntOrString, ctr corev1.Container) bool {
	return slices.ContainsFunc(ctr.Ports, func(p corev1.ContainerPort) bool {
		return (t.Type == intstr.String && p.Name == t.StrVal) || (t.Type == intstr.Int && int(p.ContainerPort) == t.IntValue())
	})
}

func selects(selector, podLabels map[string]string) bool {
	return len(selector) > 0 && labels.SelectorFromSet(selector).Matches(labels.Set(podLabels))
}

func selectsLabelSelector(ls *metav1.LabelSelector, podLabels map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(ls)
	return err == nil && !s.Empty() && s.Matches(labels.Set(podLabels))
}

// checkIngresses checks that the gateway has an Ingress and that every backend exists.
func (c *checker) checkIngresses() {
	gatewayExposed := false
	for _, ing := range all[*networkingv1.Ingress](c.r) {
		for _, rule := range ing.Spec.Rules {
			if rule.HTTP == nil {
				continue
			}
			for _, p := range rule.HTTP.Paths {
				b := p.Backend.Service
				if b == nil {
					c.p.addf("Ingress %s: path %s has no Service backend", ing.Name, p.Path)
					continue
				}
				s := c.service(b.Name)
				if s == nil {
					c.p.addf("Ingress %s: backend Service %s is not rendered", ing.Name, b.Name)
					continue
				}
				if !slices.ContainsFunc(s.Spec.Ports, func(sp corev1.ServicePort) bool {
					return (b.Port.Name != "" && sp.Name == b.Port.Name) || (b.Port.Number != 0 && sp.Port == b.Port.Number)
				}) {
					c.p.addf("Ingress %s: Service %s has no port %s%d", ing.Name, b.Name, b.Port.Name, b.Port.Number)
				}
				for _, d := range all[*appsv1.Deployment](c.r) {
					if svc, _, _ := imageService(mainImage(d)); svc == "gateway" &&
						selects(s.Spec.Selector, d.Spec.Template.Labels) {
						gatewayExposed = true
					}
				}
			}
		}
		if len(ing.Spec.TLS) == 0 {
			c.p.addf("Ingress %s: no TLS: bearer credentials must not cross the network in the clear", ing.Name)
		}
	}
	if slices.Contains(c.opt.Services, "gateway") && !gatewayExposed {
		c.p.addf("no Ingress reaches the gateway")
	}
}

func (c *checker) service(name string) *corev1.Service {
	for _, s := range all[*corev1.Service](c.r) {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// checkImages checks that a pinned rendering runs one release of kefu.
func (c *checker) checkImages() {
	if !c.opt.Pinned {
		return
	}
	tags := map[string][]string{}
	var visit func(ps *corev1.PodSpec)
	visit = func(ps *corev1.PodSpec) {
		for _, ctr := range append(slices.Clone(ps.InitContainers), ps.Containers...) {
			if _, tag, ok := imageService(ctr.Image); ok {
				tags[tag] = append(tags[tag], ctr.Image)
			}
		}
	}
	for _, d := range all[*appsv1.Deployment](c.r) {
		visit(&d.Spec.Template.Spec)
	}
	for _, j := range all[*batchv1.Job](c.r) {
		visit(&j.Spec.Template.Spec)
	}
	for tag, images := range tags {
		if tag == "" || tag == "latest" {
			c.p.addf("images %v are not pinned to a release", images)
		}
	}
	if len(tags) > 1 {
		c.p.addf("kefu images carry %d different tags; one release runs from one tag", len(tags))
	}
}

// connectionReserve is what the budget keeps free of the services' pools: PostgreSQL's superuser slots,
// CloudNativePG's own connections, migrations and operators' commands.
const connectionReserve = 20

// checkConnectionBudget checks that every service at its autoscaler's maximum, plus the surge of a rolling
// update, fits its pools (--db-max-conns) in the cluster's max_connections.
func (c *checker) checkConnectionBudget(cl *cnpgCluster) {
	limit, err := strconv.Atoi(cl.Spec.PostgreSQL.Parameters["max_connections"])
	if err != nil {
		c.p.addf("Cluster %s: max_connections %q is not a number", cl.Metadata.Name, cl.Spec.PostgreSQL.Parameters["max_connections"])
		return
	}
	quiet := &checker{r: c.r}
	total, parts := 0, []string{}
	for _, d := range all[*appsv1.Deployment](c.r) {
		if len(d.Spec.Template.Spec.Containers) == 0 {
			continue
		}
		vars := map[string]envVar{}
		for _, v := range quiet.containerEnv(d.Name, &d.Spec.Template.Spec.Containers[0]) {
			vars[v.Name] = v
		}
		if _, ok := vars["DATABASE_URL"]; !ok {
			continue
		}
		conns, err := strconv.Atoi(vars["KEFU_DB_MAX_CONNS"].Value)
		if err != nil {
			c.p.addf("Deployment %s: set KEFU_DB_MAX_CONNS, so that the connection budget can be checked", d.Name)
			continue
		}
		maxReplicas := 0
		for _, h := range all[*autoscalingv2.HorizontalPodAutoscaler](c.r) {
			if h.Spec.ScaleTargetRef.Kind == "Deployment" && h.Spec.ScaleTargetRef.Name == d.Name {
				maxReplicas = int(h.Spec.MaxReplicas)
			}
		}
		surge := 0
		if ru := d.Spec.Strategy.RollingUpdate; ru != nil && ru.MaxSurge != nil {
			surge, _ = intstr.GetScaledValueFromIntOrPercent(ru.MaxSurge, maxReplicas, true)
		}
		total += (maxReplicas + surge) * conns
		parts = append(parts, fmt.Sprintf("%s (%d+%d)×%d", d.Name, maxReplicas, surge, conns))
	}
	if total+connectionReserve > limit {
		c.p.addf("Cluster %s: max_connections %d is below the services' pools at their autoscalers' maximum, %d (%s), plus %d in reserve",
			cl.Metadata.Name, limit, total, strings.Join(parts, " + "), connectionReserve)
	}
}

var retentionPattern = regexp.MustCompile(`^[1-9][0-9]*[dwm]$`)

// checkCluster checks the CloudNativePG cluster: high availability, roles and schemas equal to
// deploy/postgres/init.sql, passwords from the example Secrets, backups.
func (c *checker) checkCluster(cl *cnpgCluster) {
	where := "Cluster " + cl.Metadata.Name
	s := cl.Spec
	if s.Instances < 3 {
		c.p.addf("%s: %d instances; high availability needs 3", where, s.Instances)
	}
	if s.ImageName == "" {
		c.p.addf("%s: no imageName: pin the PostgreSQL major version", where)
	}
	if _, err := resource.ParseQuantity(s.Storage.Size); err != nil {
		c.p.addf("%s: storage size %q: %v", where, s.Storage.Size, err)
	}
	if !s.Affinity.EnablePodAntiAffinity {
		c.p.addf("%s: instances may share a node", where)
	}
	if s.Resources.Requests.Memory().IsZero() || s.Resources.Limits.Memory().IsZero() {
		c.p.addf("%s: no memory request and limit", where)
	}
	for _, r := range s.Managed.Roles {
		if r.Ensure != "present" || !r.Login {
			c.p.addf("%s: role %s must be present and log in", where, r.Name)
		}
		sec, ok := c.secrets[r.PasswordSecret.Name]
		switch {
		case !ok:
			c.p.addf("%s: role %s's password Secret %s is not in secrets.example.yaml", where, r.Name, r.PasswordSecret.Name)
		case sec.Type != corev1.SecretTypeBasicAuth || sec.StringData["username"] != r.Name:
			c.p.addf("%s: Secret %s must be basic-auth with username %s", where, r.PasswordSecret.Name, r.Name)
		case sec.Labels["cnpg.io/reload"] != "true":
			c.p.addf("%s: Secret %s lacks the label cnpg.io/reload=true, so a new password would wait for a restart", where, r.PasswordSecret.Name)
		}
	}
	c.checkBackup(where, cl)
	switch b := s.Bootstrap; {
	case (b.InitDB == nil) == (b.Recovery == nil):
		c.p.addf("%s: bootstrap needs exactly one of initdb and recovery", where)
	case b.InitDB != nil:
		c.checkInitDB(where, cl)
	default:
		c.checkRecovery(where, cl)
	}
}

func (c *checker) checkBackup(where string, cl *cnpgCluster) {
	b := cl.Spec.Backup
	if b == nil {
		c.p.addf("%s: no backup", where)
		return
	}
	if !retentionPattern.MatchString(b.RetentionPolicy) {
		c.p.addf("%s: retentionPolicy %q, want a count of days, weeks or months (30d)", where, b.RetentionPolicy)
	}
	c.checkObjectStore(where, b.BarmanObjectStore)
	scheduled := false
	for _, sb := range all[*cnpgScheduledBackup](c.r) {
		if sb.Spec.Cluster.Name != cl.Metadata.Name {
			c.p.addf("ScheduledBackup %s: backs up %s, which is not rendered", sb.Metadata.Name, sb.Spec.Cluster.Name)
			continue
		}
		scheduled = true
		if len(strings.Fields(sb.Spec.Schedule)) != 6 {
			c.p.addf("ScheduledBackup %s: schedule %q must have six fields (seconds first)", sb.Metadata.Name, sb.Spec.Schedule)
		}
		if sb.Spec.Method != "barmanObjectStore" {
			c.p.addf("ScheduledBackup %s: method %q, want barmanObjectStore", sb.Metadata.Name, sb.Spec.Method)
		}
	}
	if !scheduled {
		c.p.addf("%s: no ScheduledBackup", where)
	}
}

func (c *checker) checkObjectStore(where string, os cnpgObjectStore) {
	if !strings.HasPrefix(os.DestinationPath, "s3://") {
		c.p.addf("%s: destinationPath %q is not an s3:// path", where, os.DestinationPath)
	}
	for _, k := range []cnpgSecretKey{os.S3Credentials.AccessKeyID, os.S3Credentials.SecretAccessKey} {
		c.checkSecretRef(where, "s3Credentials", &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: k.Name}, Key: k.Key})
	}
}

// checkInitDB compares the bootstrap with deploy/postgres/init.sql: postInitSQL creates its roles (without
// a password: managed.roles sets it), postInitApplicationSQL runs its other statements in order, and
// managed.roles holds exactly its roles.
func (c *checker) checkInitDB(where string, cl *cnpgCluster) {
	db := cl.Spec.Bootstrap.InitDB
	wantRoles, wantApp := parseInitSQL(c.opt.InitSQL)
	if len(wantRoles) == 0 {
		c.p.addf("init.sql creates no LOGIN roles")
	}
	var wantPost []string
	for _, r := range wantRoles {
		wantPost = append(wantPost, "CREATE ROLE "+r+" NOLOGIN")
	}
	if got := normalizeAll(db.PostInitSQL); !slices.Equal(got, wantPost) {
		c.p.addf("%s: postInitSQL %q, want the roles of init.sql %q", where, got, wantPost)
	}
	if got := normalizeAll(db.PostInitApplicationSQL); !slices.Equal(got, wantApp) {
		c.p.addf("%s: postInitApplicationSQL differs from init.sql's schemas and grants:\n got  %q\n want %q", where, got, wantApp)
	}
	var managed []string
	for _, r := range cl.Spec.Managed.Roles {
		managed = append(managed, r.Name)
	}
	sort.Strings(managed)
	want := slices.Sorted(slices.Values(wantRoles))
	if !slices.Equal(managed, want) {
		c.p.addf("%s: managed roles %v, want init.sql's %v", where, managed, want)
	}
}

var createRolePattern = regexp.MustCompile(`^CREATE ROLE ([a-z_][a-z0-9_]*) LOGIN PASSWORD '[^']*'$`)

// parseInitSQL splits init.sql into its LOGIN roles and its other statements, whitespace normalized.
func parseInitSQL(sql []byte) (roles, others []string) {
	var lines []string
	for _, l := range strings.Split(string(sql), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			lines = append(lines, l)
		}
	}
	for _, stmt := range strings.Split(strings.Join(lines, "\n"), ";") {
		stmt = normalizeSQL(stmt)
		if stmt == "" {
			continue
		}
		if m := createRolePattern.FindStringSubmatch(stmt); m != nil {
			roles = append(roles, m[1])
		} else {
			others = append(others, stmt)
		}
	}
	return roles, others
}

func normalizeSQL(s string) string {
	return strings.TrimSuffix(strings.Join(strings.Fields(s), " "), ";")
}

func normalizeAll(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		out = append(out, normalizeSQL(s))
	}
	return out
}

// checkRecovery checks a point-in-time recovery: from the cluster's own object store, archiving afterwards
// under another server name.
func (c *checker) checkRecovery(where string, cl *cnpgCluster) {
	rec := cl.Spec.Bootstrap.Recovery
	i := slices.IndexFunc(cl.Spec.ExternalClusters, func(e cnpgExternalCluster) bool { return e.Name == rec.Source })
	if i < 0 || cl.Spec.ExternalClusters[i].BarmanObjectStore == nil {
		c.p.addf("%s: recovery source %q is not an external cluster with a barmanObjectStore", where, rec.Source)
		return
	}
	src := *cl.Spec.ExternalClusters[i].BarmanObjectStore
	c.checkObjectStore(where+" recovery source", src)
	if rec.RecoveryTarget == nil || rec.RecoveryTarget.TargetTime == "" {
		c.p.addf("%s: recovery without a targetTime", where)
	}
	if b := cl.Spec.Backup; b != nil {
		dst := b.BarmanObjectStore
		if src.DestinationPath != dst.DestinationPath || src.EndpointURL != dst.EndpointURL {
			c.p.addf("%s: recovers from %s at %s but backs up to %s at %s", where, src.DestinationPath, src.EndpointURL, dst.DestinationPath, dst.EndpointURL)
		}
		from, to := src.ServerName, dst.ServerName
		if from == "" {
			from = rec.Source
		}
		if to == "" {
			to = cl.Metadata.Name
		}
		if from == to {
			c.p.addf("%s: archives under server name %s, the one it recovers from: give the new timeline its own", where, to)
		}
	}
}

// checkNATSValues checks the Helm values kefu relies on: a three-node JetStream cluster on file storage.
func checkNATSValues(v *natsValues) problems {
	var p problems
	if v.FullnameOverride == "" {
		p.addf("nats values: fullnameOverride must name the client Service")
	}
	if !v.Config.Cluster.Enabled || v.Config.Cluster.Replicas != 3 {
		p.addf("nats values: want config.cluster enabled with replicas 3")
	}
	js := v.Config.JetStream
	if !js.Enabled || !js.FileStore.Enabled || !js.FileStore.PVC.Enabled || js.MemoryStore.Enabled {
		p.addf("nats values: want JetStream on file storage with a PVC, memory storage off")
	}
	size, err1 := resource.ParseQuantity(js.FileStore.PVC.Size)
	maxSize, err2 := resource.ParseQuantity(js.FileStore.MaxSize)
	if err1 != nil || err2 != nil || maxSize.Cmp(size) >= 0 {
		p.addf("nats values: fileStore.maxSize %q must be below the PVC size %q", js.FileStore.MaxSize, js.FileStore.PVC.Size)
	}
	if !v.PodDisruptionBudget.Enabled || !v.Config.Monitor.Enabled {
		p.addf("nats values: want the PodDisruptionBudget and the monitor endpoint (health probes)")
	}
	if _, ok := v.PodTemplate.TopologySpreadConstraints["kubernetes.io/hostname"]; !ok {
		p.addf("nats values: spread the servers over nodes")
	}
	lim := v.Container.Merge.Resources.Limits.Memory()
	ctr := &corev1.Container{Resources: v.Container.Merge.Resources}
	if lim.IsZero() || v.Container.Merge.Resources.Requests.Cpu().IsZero() {
		p.addf("nats values: want container requests and limits")
	} else {
		c := &checker{}
		c.checkMemLimit("nats values", v.Container.Env["GOMEMLIMIT"], ctr)
		p = append(p, c.p...)
	}
	return p
}
