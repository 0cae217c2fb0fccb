package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
)

// fixture is what every test reads: the services' flags, the example secrets, init.sql, the NATS values.
type fixture struct {
	root     string
	services []string
	cat      catalog
	secrets  secretIndex
	initSQL  []byte
	nats     *natsValues
}

func load(t *testing.T) fixture {
	t.Helper()
	root, err := repoRoot()
	require.NoError(t, err)
	services, err := deployableServices(root)
	require.NoError(t, err)
	cat, err := loadCatalog(root)
	require.NoError(t, err)
	secrets, err := loadSecrets(root)
	require.NoError(t, err)
	initSQL, err := readFile(root, "deploy", "postgres", "init.sql")
	require.NoError(t, err)
	nats, err := loadNATSValues(root)
	require.NoError(t, err)
	return fixture{root: root, services: services, cat: cat, secrets: secrets, initSQL: initSQL, nats: nats}
}

// loadSecrets decodes deploy/k8s/secrets.example.yaml strictly: Secrets only, placeholders only.
func loadSecrets(root string) (secretIndex, error) {
	b, err := readFile(root, "deploy", "k8s", "secrets.example.yaml")
	if err != nil {
		return nil, err
	}
	idx := secretIndex{}
	for _, doc := range splitDocs(b) {
		o, err := decode(doc)
		if err != nil {
			return nil, fmt.Errorf("secrets.example.yaml: %w", err)
		}
		s, ok := o.Obj.(*corev1.Secret)
		if !ok {
			return nil, fmt.Errorf("secrets.example.yaml: %s %s is not a Secret", o.GVK.Kind, o.Name)
		}
		if len(s.Data) > 0 {
			return nil, fmt.Errorf("secrets.example.yaml: %s: use stringData placeholders, not data", s.Name)
		}
		for k, v := range s.StringData {
			if !(s.Type == corev1.SecretTypeBasicAuth && k == "username") && !strings.Contains(v, "CHANGE_ME") {
				return nil, fmt.Errorf("secrets.example.yaml: %s.%s holds a value, not a CHANGE_ME placeholder", s.Name, k)
			}
		}
		if _, dup := idx[s.Name]; dup {
			return nil, fmt.Errorf("secrets.example.yaml: %s twice", s.Name)
		}
		idx[s.Name] = s
	}
	return idx, nil
}

func loadNATSValues(root string) (*natsValues, error) {
	b, err := readFile(root, "deploy", "k8s", "nats", "values.yaml")
	if err != nil {
		return nil, err
	}
	v := new(natsValues)
	if err := decodeStrict(b, v); err != nil {
		return nil, fmt.Errorf("nats/values.yaml: %w", err)
	}
	return v, nil
}

func k8sDir(f fixture, rel ...string) string {
	return filepath.Join(append([]string{f.root, "deploy", "k8s"}, rel...)...)
}

func ptrTo[T any](v T) *T { return &v }

func requireNoProblems(t *testing.T, p problems) {
	t.Helper()
	require.Empty(t, p, "problems:\n%s", strings.Join(p, "\n"))
}

func TestBaseRendersValidManifests(t *testing.T) {
	t.Parallel()
	f := load(t)
	r, err := render(k8sDir(f, "base"))
	require.NoError(t, err)
	requireNoProblems(t, check(r, f.cat, f.secrets, checkOptions{Services: f.services, NATS: f.nats}))
}

func TestProductionOverlayRendersValidManifests(t *testing.T) {
	t.Parallel()
	f := load(t)
	r, err := render(k8sDir(f, "overlays", "production"))
	require.NoError(t, err)
	requireNoProblems(t, check(r, f.cat, f.secrets, checkOptions{Services: f.services, Pinned: true,
		Namespace: "kefu", Postgres: true, InitSQL: f.initSQL, NATS: f.nats}))
	require.Len(t, all[*corev1.Namespace](r), 1)
}

// TestRestoreComponentRecoversFromTheBackups renders the production overlay with the point-in-time
// recovery component, as docs/operations.md tells operators to.
func TestRestoreComponentRecoversFromTheBackups(t *testing.T) {
	t.Parallel()
	f := load(t)
	dir := t.TempDir()
	rel := func(target string) string { // kustomize takes no absolute paths
		p, err := filepath.Rel(dir, target)
		require.NoError(t, err)
		return p
	}
	kust := fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - %s\ncomponents:\n  - %s\n",
		rel(k8sDir(f, "overlays", "production")), rel(k8sDir(f, "postgres", "restore")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kust), 0o600))
	r, err := render(dir)
	require.NoError(t, err)
	requireNoProblems(t, check(r, f.cat, f.secrets, checkOptions{Services: f.services, Pinned: true,
		Namespace: "kefu", Postgres: true, InitSQL: f.initSQL, NATS: f.nats}))
	clusters := all[*cnpgCluster](r)
	require.Len(t, clusters, 1)
	require.Nil(t, clusters[0].Spec.Bootstrap.InitDB)
	require.NotNil(t, clusters[0].Spec.Bootstrap.Recovery)
}

// TestJobsRenderValidManifests renders each one-off Job under jobs/ (a first start's key, the analytics
// rebuild): they follow the pod rules, run the production overlay's release, and agree with its
// Deployments on every setting both give.
func TestJobsRenderValidManifests(t *testing.T) {
	t.Parallel()
	f := load(t)
	prod, err := render(k8sDir(f, "overlays", "production"))
	require.NoError(t, err)
	images := map[string]*appsv1.Deployment{}
	for _, d := range all[*appsv1.Deployment](prod) {
		images[d.Spec.Template.Spec.Containers[0].Image] = d
	}
	dirs, err := filepath.Glob(k8sDir(f, "jobs", "*"))
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			r, err := render(dir)
			require.NoError(t, err)
			requireNoProblems(t, check(r, f.cat, f.secrets, checkOptions{Pinned: true, Namespace: "kefu", NATS: f.nats}))
			jobs := all[*batchv1.Job](r)
			require.NotEmpty(t, jobs)
			for _, j := range jobs {
				ctr := j.Spec.Template.Spec.Containers[0]
				d, ok := images[ctr.Image]
				require.True(t, ok, "Job %s runs %s, which the production overlay does not", j.Name, ctr.Image)
				deployed := map[string]envVar{}
				for _, v := range (&checker{r: prod}).containerEnv(d.Name, &d.Spec.Template.Spec.Containers[0]) {
					deployed[v.Name] = v
				}
				for _, v := range (&checker{r: r}).containerEnv(j.Name, &ctr) {
					// The container's own sizing and whether it migrates may differ; what it talks to may not.
					if runtimeVar(v.Name) || v.Name == "KEFU_MIGRATE" {
						continue
					}
					if w, ok := deployed[v.Name]; ok && v.Literal {
						require.Equal(t, w.Value, v.Value, "Job %s: %s differs from Deployment %s's", j.Name, v.Name, d.Name)
					}
				}
			}
		})
	}
}

func TestNATSValuesDescribeAThreeNodeJetStreamCluster(t *testing.T) {
	t.Parallel()
	f := load(t)
	requireNoProblems(t, checkNATSValues(f.nats))
}

// TestEveryServiceHasAFlagCatalog guards the source reading itself: each binary has the flags that the
// manifests rely on, so a parser that found nothing cannot pass the other tests by accident.
func TestEveryServiceHasAFlagCatalog(t *testing.T) {
	t.Parallel()
	f := load(t)
	require.Contains(t, f.services, "intake")
	require.Contains(t, f.services, "gateway")
	for _, svc := range f.services {
		b := f.cat[svc]
		require.Contains(t, b.ByEnv, "KEFU_LOG_LEVEL", svc) // service.Main's own
		if svc == "gateway" {
			require.Contains(t, b.ByEnv, "KEFU_HTTP_ADDR")
			continue
		}
		require.Contains(t, b.ByEnv, "KEFU_GRPC_ADDR", svc)
		require.Contains(t, b.ByEnv, "DATABASE_URL", svc) // service.EnvOverrides
		require.NotContains(t, b.ByEnv, "KEFU_DATABASE_URL", svc)
		require.True(t, b.ByEnv["KEFU_API_KEY_PEPPER"].Secret, svc) // auth.BindFlags, followed
	}
	require.True(t, f.cat["customer"].ByEnv["KEFU_ENCRYPTION_KEYS"].Secret)
	require.False(t, f.cat["customer"].ByEnv["KEFU_ENCRYPTION_KEYS_FILE"].Secret)
}

// TestChecksCatchMistakes proves each rule can fail: one mistake at a time in the base rendering must be
// reported.
func TestChecksCatchMistakes(t *testing.T) {
	t.Parallel()
	f := load(t)
	docs, err := renderYAML(k8sDir(f, "base"))
	require.NoError(t, err)

	deployment := func(r *rendering, name string) *appsv1.Deployment {
		for _, d := range all[*appsv1.Deployment](r) {
			if d.Name == name {
				return d
			}
		}
		t.Fatalf("no Deployment %s", name)
		return nil
	}
	setEnv := func(c *corev1.Container, e corev1.EnvVar) {
		for i := range c.Env {
			if c.Env[i].Name == e.Name {
				c.Env[i] = e
				return
			}
		}
		c.Env = append(c.Env, e)
	}
	tests := []struct {
		name   string
		mutate func(r *rendering)
		want   string
	}{
		{
			name: "a variable no flag reads is refused",
			mutate: func(r *rendering) {
				setEnv(&deployment(r, "intake").Spec.Template.Spec.Containers[0], corev1.EnvVar{Name: "KEFU_CUSTOMER_ADRESS", Value: "customer:7002"})
			},
			want: "sets KEFU_CUSTOMER_ADRESS, which intake does not read",
		},
		{
			name: "another service's flag is refused",
			mutate: func(r *rendering) {
				setEnv(&deployment(r, "slatimer").Spec.Template.Spec.Containers[0], corev1.EnvVar{Name: "KEFU_BUSINESS_ZONE", Value: "UTC"})
			},
			want: "sets KEFU_BUSINESS_ZONE, which slatimer does not read",
		},
		{
			name: "a secret given as a literal is refused",
			mutate: func(r *rendering) {
				setEnv(&deployment(r, "customer").Spec.Template.Spec.Containers[0], corev1.EnvVar{Name: "KEFU_BLIND_INDEX_KEY", Value: "c2VjcmV0"})
			},
			want: "KEFU_BLIND_INDEX_KEY is a secret (--blind-index-key)",
		},
		{
			name: "a password written into a URL is refused",
			mutate: func(r *rendering) {
				setEnv(&deployment(r, "kb").Spec.Template.Spec.Containers[0], corev1.EnvVar{Name: "DATABASE_URL",
					Value: "postgres://kefu_kb:hunter2@kefu-pg-rw:5432/kefu?sslmode=verify-full&sslrootcert=/etc/kefu/pg-ca/ca.crt"})
			},
			want: "DATABASE_URL holds a literal credential",
		},
		{
			name: "another service's role is refused",
			mutate: func(r *rendering) {
				setEnv(&deployment(r, "kb").Spec.Template.Spec.Containers[0], corev1.EnvVar{Name: "DATABASE_URL",
					Value: "postgres://kefu_intake:$(PG_PASSWORD)@kefu-pg-rw:5432/kefu?sslmode=verify-full&sslrootcert=/etc/kefu/pg-ca/ca.crt"})
			},
			want: "connects as kefu_intake, want kefu_kb",
		},
		{
			name: "a secret key the example does not list is refused",
			mutate: func(r *rendering) {
				setEnv(&deployment(r, "routing").Spec.Template.Spec.Containers[0], corev1.EnvVar{Name: "KEFU_INTAKE_API_KEY",
					ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: "kefu-service-keys"}, Key: "routing-at-intak"}}})
			},
			want: "reads key routing-at-intak of Secret kefu-service-keys",
		},
		{
			name: "listening on loopback is refused",
			mutate: func(r *rendering) {
				for _, cm := range all[*corev1.ConfigMap](r) {
					if strings.HasPrefix(cm.Name, "notify-config") {
						cm.Data["KEFU_GRPC_ADDR"] = "127.0.0.1:7006"
					}
				}
			},
			want: `KEFU_GRPC_ADDR "127.0.0.1:7006" listens on 127.0.0.1 only`,
		},
		{
			name: "a peer address at the wrong service is refused",
			mutate: func(r *rendering) {
				for _, cm := range all[*corev1.ConfigMap](r) {
					if strings.HasPrefix(cm.Name, "gateway-config") {
						cm.Data["KEFU_KB_ADDR"] = "notify:7006"
					}
				}
			},
			want: "reaches Deployment notify, which runs notify, not kb",
		},
		{
			name: "a writable root file system is refused",
			mutate: func(r *rendering) {
				deployment(r, "analytics").Spec.Template.Spec.Containers[0].SecurityContext.ReadOnlyRootFilesystem = ptrTo(false)
			},
			want: "analytics container analytics: readOnlyRootFilesystem must be true",
		},
		{
			name: "a grace period shorter than the graceful stop is refused",
			mutate: func(r *rendering) {
				deployment(r, "notify").Spec.Template.Spec.TerminationGracePeriodSeconds = ptrTo(int64(30))
			},
			want: "notify container notify: terminationGracePeriodSeconds 30s does not cover the preStop pause and the graceful stop (30s)",
		},
		{
			name: "a gRPC service behind a virtual IP is refused",
			mutate: func(r *rendering) {
				for _, s := range all[*corev1.Service](r) {
					if s.Name == "routing" {
						s.Spec.ClusterIP = ""
					}
				}
			},
			want: "Service routing: a gRPC service's Service must be headless",
		},
		{
			name:   "a missing liveness probe is refused",
			mutate: func(r *rendering) { deployment(r, "gateway").Spec.Template.Spec.Containers[0].LivenessProbe = nil },
			want:   "needs both a readiness and a liveness probe",
		},
		{
			name: "a probe on the wrong port is refused",
			mutate: func(r *rendering) {
				deployment(r, "routing").Spec.Template.Spec.Containers[0].ReadinessProbe.GRPC.Port = 7001
			},
			want: "readiness probe must be gRPC health on port 7003",
		},
		{
			name: "a Deployment without a PodDisruptionBudget is refused",
			mutate: func(r *rendering) {
				for i, o := range r.Objects {
					if pdb, ok := o.Obj.(*policyv1.PodDisruptionBudget); ok && pdb.Name == "slatimer" {
						r.Objects = append(r.Objects[:i], r.Objects[i+1:]...)
						return
					}
				}
			},
			want: "Deployment slatimer: 0 PodDisruptionBudgets",
		},
		{
			name:   "fixed replicas beside an autoscaler are refused",
			mutate: func(r *rendering) { deployment(r, "intake").Spec.Replicas = ptrTo[int32](3) },
			want:   "Deployment intake: sets replicas",
		},
		{
			name: "a memory soft limit above the hard one is refused",
			mutate: func(r *rendering) {
				setEnv(&deployment(r, "notify").Spec.Template.Spec.Containers[0], corev1.EnvVar{Name: "GOMEMLIMIT", Value: "1GiB"})
			},
			want: "GOMEMLIMIT 1GiB should be 50–95% of the memory limit",
		},
		{
			name: "a missing service is refused",
			mutate: func(r *rendering) {
				for i, o := range r.Objects {
					if d, ok := o.Obj.(*appsv1.Deployment); ok && d.Name == "kb" {
						r.Objects = append(r.Objects[:i], r.Objects[i+1:]...)
						return
					}
				}
			},
			want: "service kb runs in 0 Deployments",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := decodeAll("base", docs)
			require.NoError(t, err)
			tc.mutate(r)
			p := check(r, f.cat, f.secrets, checkOptions{Services: f.services, NATS: f.nats})
			require.NotEmpty(t, p)
			require.Contains(t, strings.Join(p, "\n"), tc.want)
		})
	}
}

// TestProductionChecksCatchMistakes proves the rules of the production overlay (Postgres, pinned images,
// the namespace) and of the NATS values can fail.
func TestProductionChecksCatchMistakes(t *testing.T) {
	t.Parallel()
	f := load(t)
	docs, err := renderYAML(k8sDir(f, "overlays", "production"))
	require.NoError(t, err)
	cluster := func(r *rendering) *cnpgCluster { return all[*cnpgCluster](r)[0] }
	tests := []struct {
		name   string
		mutate func(r *rendering)
		want   string
	}{
		{
			name: "a bootstrap that drifted from init.sql is refused",
			mutate: func(r *rendering) {
				db := cluster(r).Spec.Bootstrap.InitDB
				db.PostInitApplicationSQL = db.PostInitApplicationSQL[1:]
			},
			want: "postInitApplicationSQL differs from init.sql",
		},
		{
			name: "a role init.sql does not create is refused",
			mutate: func(r *rendering) {
				cl := cluster(r)
				cl.Spec.Managed.Roles = append(cl.Spec.Managed.Roles, cnpgRole{Name: "kefu_extra", Ensure: "present", Login: true})
			},
			want: "managed roles",
		},
		{
			name: "a password from another Secret than the role's is refused",
			mutate: func(r *rendering) {
				for i, role := range cluster(r).Spec.Managed.Roles {
					if role.Name == "kefu_kb" {
						cluster(r).Spec.Managed.Roles[i].PasswordSecret.Name = "kefu-pg-intake"
					}
				}
			},
			want: "takes kefu_kb's password from kefu-pg-kb, but the Cluster sets it from kefu-pg-intake",
		},
		{
			name:   "pools that outgrow max_connections are refused",
			mutate: func(r *rendering) { cluster(r).Spec.PostgreSQL.Parameters["max_connections"] = "300" },
			want:   "max_connections 300 is below the services' pools at their autoscalers' maximum, 524",
		},
		{
			name:   "a single instance is refused",
			mutate: func(r *rendering) { cluster(r).Spec.Instances = 1 },
			want:   "1 instances; high availability needs 3",
		},
		{
			name: "a cluster without scheduled backups is refused",
			mutate: func(r *rendering) {
				r.Objects = slices.DeleteFunc(r.Objects, func(o object) bool { return o.GVK.Kind == "ScheduledBackup" })
			},
			want: "no ScheduledBackup",
		},
		{
			name: "an unpinned image is refused",
			mutate: func(r *rendering) {
				all[*appsv1.Deployment](r)[0].Spec.Template.Spec.Containers[0].Image = "kefu/intake:latest"
			},
			want: "not pinned to a release",
		},
		{
			name:   "an object outside the namespace is refused",
			mutate: func(r *rendering) { r.Objects[1].Namespace = "default" },
			want:   `is in namespace "default", want "kefu"`,
		},
		{
			name: "a recovery that archives into the old server name is refused",
			mutate: func(r *rendering) {
				cl := cluster(r)
				store := cl.Spec.Backup.BarmanObjectStore
				store.ServerName = "kefu-pg"
				cl.Spec.Bootstrap = cnpgBootstrap{Recovery: &cnpgRecovery{Source: "origin"}}
				cl.Spec.ExternalClusters = []cnpgExternalCluster{{Name: "origin", BarmanObjectStore: &store}}
			},
			want: "archives under server name kefu-pg, the one it recovers from",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := decodeAll("production", docs)
			require.NoError(t, err)
			tc.mutate(r)
			p := check(r, f.cat, f.secrets, checkOptions{Services: f.services, Pinned: true, Namespace: "kefu",
				Postgres: true, InitSQL: f.initSQL, NATS: f.nats})
			require.NotEmpty(t, p)
			require.Contains(t, strings.Join(p, "\n"), tc.want)
		})
	}

	natsTests := []struct {
		name   string
		mutate func(v *natsValues)
		want   string
	}{
		{"one NATS server is refused", func(v *natsValues) { v.Config.Cluster.Replicas = 1 }, "replicas 3"},
		{"memory storage is refused", func(v *natsValues) { v.Config.JetStream.MemoryStore.Enabled = true }, "file storage"},
		{"a store limit of the whole volume is refused", func(v *natsValues) { v.Config.JetStream.FileStore.MaxSize = "20Gi" }, "must be below the PVC size"},
	}
	for _, tc := range natsTests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := *f.nats
			tc.mutate(&v)
			require.Contains(t, strings.Join(checkNATSValues(&v), "\n"), tc.want)
		})
	}
}

// TestStrictDecodingRefusesUnknownFields proves decoding is strict for both the built-in kinds and the
// CloudNativePG subset.
func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{
			name: "a misspelled Deployment field",
			doc: `apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers:
        - name: x
          image: kefu/x
          readynessProbe: {grpc: {port: 7001}}`,
			want: `unknown field "spec.template.spec.containers[0].readynessProbe"`,
		},
		{
			name: "a field in the wrong case",
			doc: `apiVersion: v1
kind: Service
metadata: {name: x}
spec:
  Selector: {a: b}`,
			want: `unknown field "spec.Selector"`,
		},
		{
			name: "a duplicate field",
			doc: `apiVersion: v1
kind: ConfigMap
metadata: {name: x}
data: {a: "1"}
data: {b: "2"}`,
			want: `"data" already set`,
		},
		{
			name: "an unknown kind",
			doc: `apiVersion: apps/v1
kind: Deploymnet
metadata: {name: x}`,
			want: "Deploymnet",
		},
		{
			name: "a misspelled CloudNativePG field",
			doc: `apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata: {name: x}
spec:
  instances: 3
  bootstrap:
    initdb: {database: kefu, owner: kefu, postInitSql: []}`,
			want: `unknown field "spec.bootstrap.initdb.postInitSql"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := decode([]byte(tc.doc))
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestInitSQLParsing(t *testing.T) {
	t.Parallel()
	roles, others := parseInitSQL([]byte("-- a comment; with a semicolon\nCREATE ROLE kefu_a_owner LOGIN PASSWORD 'x';\n" +
		"CREATE SCHEMA a\n  AUTHORIZATION kefu_a_owner;\nGRANT USAGE ON SCHEMA a TO kefu_a;\n"))
	require.Equal(t, []string{"kefu_a_owner"}, roles)
	require.Equal(t, []string{"CREATE SCHEMA a AUTHORIZATION kefu_a_owner", "GRANT USAGE ON SCHEMA a TO kefu_a"}, others)
}

func TestImageService(t *testing.T) {
	t.Parallel()
	tests := []struct {
		image, svc, tag string
		ok              bool
	}{
		{"kefu/intake:latest", "intake", "latest", true},
		{"registry.example.com/kefu/kb:1.0.0", "kb", "1.0.0", true},
		{"registry.example.com:5000/kefu/notify@sha256:abc", "notify", "", true},
		{"nats:2.11", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.image, func(t *testing.T) {
			t.Parallel()
			svc, tag, ok := imageService(tc.image)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.svc, svc)
			require.Equal(t, tc.tag, tag)
		})
	}
}
