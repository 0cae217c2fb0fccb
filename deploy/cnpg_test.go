package deploy

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The subset of CloudNativePG's postgresql.cnpg.io/v1 schema that kefu's manifests write, with its JSON
// names. Decoding is strict (decodeStrict), so a field outside this subset fails: add it here, spelled as
// in CloudNativePG's API reference, when a manifest needs it.

type cnpgCluster struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            cnpgClusterSpec   `json:"spec"`
}

type cnpgClusterSpec struct {
	Instances             int                         `json:"instances"`
	ImageName             string                      `json:"imageName"`
	PrimaryUpdateStrategy string                      `json:"primaryUpdateStrategy,omitempty"`
	PrimaryUpdateMethod   string                      `json:"primaryUpdateMethod,omitempty"`
	EnableSuperuserAccess *bool                       `json:"enableSuperuserAccess,omitempty"`
	PostgreSQL            cnpgPostgresConfig          `json:"postgresql"`
	Bootstrap             cnpgBootstrap               `json:"bootstrap"`
	Managed               cnpgManaged                 `json:"managed"`
	Storage               cnpgStorage                 `json:"storage"`
	WALStorage            *cnpgStorage                `json:"walStorage,omitempty"`
	Resources             corev1.ResourceRequirements `json:"resources"`
	Affinity              cnpgAffinity                `json:"affinity"`
	Backup                *cnpgBackup                 `json:"backup,omitempty"`
	ExternalClusters      []cnpgExternalCluster       `json:"externalClusters,omitempty"`
}

type cnpgPostgresConfig struct {
	Synchronous *struct {
		Method string `json:"method"`
		Number int    `json:"number"`
	} `json:"synchronous,omitempty"`
	Parameters map[string]string `json:"parameters"`
}

type cnpgBootstrap struct {
	InitDB   *cnpgInitDB   `json:"initdb,omitempty"`
	Recovery *cnpgRecovery `json:"recovery,omitempty"`
}

type cnpgInitDB struct {
	Database               string   `json:"database"`
	Owner                  string   `json:"owner"`
	Encoding               string   `json:"encoding,omitempty"`
	LocaleCollate          string   `json:"localeCollate,omitempty"`
	LocaleCType            string   `json:"localeCType,omitempty"`
	DataChecksums          bool     `json:"dataChecksums,omitempty"`
	PostInitSQL            []string `json:"postInitSQL,omitempty"`
	PostInitApplicationSQL []string `json:"postInitApplicationSQL,omitempty"`
}

type cnpgRecovery struct {
	Source         string `json:"source"`
	RecoveryTarget *struct {
		TargetTime string `json:"targetTime"`
	} `json:"recoveryTarget,omitempty"`
}

type cnpgManaged struct {
	Roles []cnpgRole `json:"roles"`
}

type cnpgRole struct {
	Name           string `json:"name"`
	Ensure         string `json:"ensure"`
	Login          bool   `json:"login"`
	Comment        string `json:"comment,omitempty"`
	PasswordSecret struct {
		Name string `json:"name"`
	} `json:"passwordSecret"`
}

type cnpgStorage struct {
	Size         string `json:"size"`
	StorageClass string `json:"storageClass,omitempty"`
}

type cnpgAffinity struct {
	EnablePodAntiAffinity bool   `json:"enablePodAntiAffinity"`
	TopologyKey           string `json:"topologyKey"`
	PodAntiAffinityType   string `json:"podAntiAffinityType"`
}

type cnpgBackup struct {
	RetentionPolicy   string          `json:"retentionPolicy"`
	Target            string          `json:"target,omitempty"`
	BarmanObjectStore cnpgObjectStore `json:"barmanObjectStore"`
}

type cnpgObjectStore struct {
	ServerName      string `json:"serverName,omitempty"`
	DestinationPath string `json:"destinationPath"`
	EndpointURL     string `json:"endpointURL,omitempty"`
	S3Credentials   struct {
		AccessKeyID     cnpgSecretKey `json:"accessKeyId"`
		SecretAccessKey cnpgSecretKey `json:"secretAccessKey"`
	} `json:"s3Credentials"`
	WAL *struct {
		Compression string `json:"compression,omitempty"`
		MaxParallel int    `json:"maxParallel,omitempty"`
	} `json:"wal,omitempty"`
	Data *struct {
		Compression string `json:"compression,omitempty"`
		Jobs        int    `json:"jobs,omitempty"`
	} `json:"data,omitempty"`
}

type cnpgSecretKey struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

type cnpgExternalCluster struct {
	Name              string           `json:"name"`
	BarmanObjectStore *cnpgObjectStore `json:"barmanObjectStore,omitempty"`
}

type cnpgScheduledBackup struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		Schedule             string `json:"schedule"`
		Immediate            bool   `json:"immediate,omitempty"`
		BackupOwnerReference string `json:"backupOwnerReference,omitempty"`
		Method               string `json:"method"`
		Cluster              struct {
			Name string `json:"name"`
		} `json:"cluster"`
	} `json:"spec"`
}

// natsValues is the subset of the NATS Helm chart's values (chart 1.x) that deploy/k8s/nats/values.yaml
// sets, decoded as strictly as the CloudNativePG kinds.
type natsValues struct {
	FullnameOverride string `json:"fullnameOverride"`
	Config           struct {
		Cluster struct {
			Enabled  bool `json:"enabled"`
			Replicas int  `json:"replicas"`
		} `json:"cluster"`
		JetStream struct {
			Enabled   bool `json:"enabled"`
			FileStore struct {
				Enabled bool   `json:"enabled"`
				Dir     string `json:"dir"`
				PVC     struct {
					Enabled          bool   `json:"enabled"`
					Size             string `json:"size"`
					StorageClassName string `json:"storageClassName,omitempty"`
				} `json:"pvc"`
				MaxSize string `json:"maxSize"`
			} `json:"fileStore"`
			MemoryStore struct {
				Enabled bool `json:"enabled"`
			} `json:"memoryStore"`
			Merge map[string]any `json:"merge,omitempty"`
		} `json:"jetstream"`
		Monitor struct {
			Enabled bool `json:"enabled"`
		} `json:"monitor"`
	} `json:"config"`
	Container struct {
		Env   map[string]string `json:"env,omitempty"`
		Merge struct {
			Resources corev1.ResourceRequirements `json:"resources"`
		} `json:"merge"`
	} `json:"container"`
	PodTemplate struct {
		TopologySpreadConstraints map[string]struct {
			MaxSkew           int    `json:"maxSkew"`
			WhenUnsatisfiable string `json:"whenUnsatisfiable"`
		} `json:"topologySpreadConstraints"`
	} `json:"podTemplate"`
	PodDisruptionBudget struct {
		Enabled bool `json:"enabled"`
	} `json:"podDisruptionBudget"`
	NatsBox struct {
		Enabled bool `json:"enabled"`
	} `json:"natsBox"`
}
