package devstack_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/devstack"
)

// customerJSON is the part of a kefu.customer.v1.Customer the tests read.
type customerJSON struct {
	CustomerID string `json:"customerId"`
	Tier       string `json:"tier"`
	Masked     bool   `json:"masked"`
	Individual struct {
		Name string `json:"name"`
	} `json:"individual"`
	Contacts []struct {
		Value string `json:"value"`
	} `json:"contacts"`
}

// getJSON sends a GET with a bearer credential, requires 200 and decodes the body into v.
func getJSON(t *testing.T, url, credential string, v any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+credential)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
	require.NoError(t, decodeJSON(resp, v))
}

// adminToken mints an admin token from the stack's dev issuer.
func adminToken(t *testing.T, cfg devstack.Config) string {
	t.Helper()
	iss, err := devstack.LoadIssuer(cfg.DataDir)
	require.NoError(t, err)
	tok, err := iss.Mint(auth.StaffToken{Subject: "admin-1", Roles: []string{auth.RoleAdmin}})
	require.NoError(t, err)
	return tok
}

// submitWithPhone submits a ticket from the app adapter with a consented phone contact and no customer id,
// and returns the ticket's customer id (empty when none was resolved).
func submitWithPhone(t *testing.T, a devstack.Addresses, key, idemKey, phone string) string {
	t.Helper()
	body := fmt.Sprintf(`{"idempotencyKey": %q, "channel": "CHANNEL_APP", "receivedTime": %q, "description": "订单什么时候发货",
		"contact": {"kind": "CONTACT_KIND_PHONE", "value": %q, "consent": true, "consentPurpose": "service_follow_up"}}`,
		idemKey, time.Now().UTC().Format(time.RFC3339), phone)
	resp, err := post(t, a.REST+"/v1/tickets", key, body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out struct {
		Ticket struct {
			CustomerID string `json:"customerId"`
		} `json:"ticket"`
	}
	require.NoError(t, decodeJSON(resp, &out))
	return out.Ticket.CustomerID
}

// TestCustomersThroughTheGateway: REST calls under /v1/customers and /v1/tiers reach the real customer
// service, which stores the record encrypted and reads it back masked; and intake, with the service key
// the dev stack issued it, resolves a submission's customer there.
func TestCustomersThroughTheGateway(t *testing.T) {
	t.Parallel()
	a, cfg := startStackIn(t, t.TempDir())
	admin := adminToken(t, cfg)

	resp, err := post(t, a.REST+"/v1/customers", admin, `{"idempotencyKey": "c-1", "customer": {
		"kind": "CUSTOMER_KIND_INDIVIDUAL", "tier": "vip",
		"individual": {"name": "张三", "provenance": {"source": "SOURCE_CUSTOMER_PROVIDED"}},
		"contacts": [{"kind": "CONTACT_KIND_PHONE", "value": "13800138000",
			"provenance": {"source": "SOURCE_CUSTOMER_PROVIDED"},
			"consents": [{"purpose": "service_follow_up", "channel": "CHANNEL_PHONE"}]}]}}`)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var created struct{ Customer customerJSON }
	require.NoError(t, decodeJSON(resp, &created))
	id := created.Customer.CustomerID
	require.NotEmpty(t, id)

	var got struct{ Customer customerJSON }
	getJSON(t, a.REST+"/v1/customers/"+id, admin, &got)
	require.Equal(t, id, got.Customer.CustomerID)
	require.Equal(t, "vip", got.Customer.Tier)
	require.True(t, got.Customer.Masked)
	require.Equal(t, "张*", got.Customer.Individual.Name)
	require.Len(t, got.Customer.Contacts, 1)
	require.NotEqual(t, "13800138000", got.Customer.Contacts[0].Value)
	require.Contains(t, got.Customer.Contacts[0].Value, "****")

	var tiers struct {
		Tiers []struct {
			Code string `json:"code"`
		} `json:"tiers"`
	}
	getJSON(t, a.REST+"/v1/tiers", admin, &tiers)
	var codes []string
	for _, tr := range tiers.Tiers {
		codes = append(codes, tr.Code)
	}
	require.Contains(t, codes, "vip")

	// Intake finds the customer by the phone number, through its own key at the customer service.
	key := adapterKey(t, a, cfg)
	require.Equal(t, id, submitWithPhone(t, a, key, "t-1", "138 0013 8000"))

	// Erasure crosses services: kefu.customer.erased reaches intake, which removes the contact and the
	// customer's words from the ticket.
	resp, err = post(t, a.REST+"/v1/customers/"+id+":erase", admin, `{"reason": "erasure request PR-2", "eraseCustomerWords": true}`)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	testkit.EventuallyNoError(t, func() error {
		// Polling as one admin meets the admin rate limit: a 429 is "not yet", like an unerased ticket.
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, a.REST+"/v1/tickets?customerId="+id, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		var list struct {
			Tickets []struct {
				Description string          `json:"description"`
				Contact     json.RawMessage `json:"contact"`
			} `json:"tickets"`
		}
		if err := decodeJSON(resp, &list); err != nil {
			return err
		}
		if len(list.Tickets) != 1 {
			return fmt.Errorf("%d tickets", len(list.Tickets))
		}
		if list.Tickets[0].Contact != nil || strings.Contains(list.Tickets[0].Description, "发货") {
			return fmt.Errorf("the ticket still holds the erased customer's data: %+v %s", list.Tickets[0].Description, list.Tickets[0].Contact)
		}
		return nil
	}, 30*time.Second)
}

// TestCustomerDataAndIntakesKeySurviveARestart: the dev stack keeps the customer service's master and
// blind-index keys and intake's API key in its data folder, so after a restart old records still decrypt
// and are still found, and intake still authenticates without another key being issued.
func TestCustomerDataAndIntakesKeySurviveARestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := startDB(t)
	cfg := devstack.Config{DataDir: dir, DatabaseURL: db.AdminURL, NATSPort: -1, Host: "127.0.0.1"}

	a, stop := runStack(t, cfg)
	key := adapterKey(t, a, cfg)
	id := submitWithPhone(t, a, key, "t-1", "13900139000")
	require.NotEmpty(t, id, "intake did not resolve the customer at the customer service")
	files := map[string][]byte{}
	for _, name := range []string{"customer-encryption-keys", "customer-blind-index-key", "intake-customer-api-key"} {
		path := filepath.Join(dir, name)
		fi, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "%s must be readable by its owner only", name)
		files[name], err = os.ReadFile(path)
		require.NoError(t, err)
	}
	stop()

	a, _ = runStack(t, cfg)
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		require.Equal(t, want, got, "%s changed across a restart", name)
	}
	var got struct{ Customer customerJSON }
	getJSON(t, a.REST+"/v1/customers/"+id, adminToken(t, cfg), &got)
	require.Len(t, got.Customer.Contacts, 1)
	masked := got.Customer.Contacts[0].Value
	require.True(t, strings.Contains(masked, "****") && strings.HasSuffix(masked, "9000"), "the record no longer decrypts: %q", masked)
	require.Equal(t, id, submitWithPhone(t, a, key, "t-2", "13900139000"), "the customer is no longer found")

	conn, err := pgx.Connect(t.Context(), db.AdminURL)
	require.NoError(t, err)
	defer conn.Close(t.Context())
	var active, all int
	require.NoError(t, conn.QueryRow(t.Context(), `SELECT count(*) FILTER (WHERE revoked_at IS NULL), count(*)
		FROM customer.api_keys WHERE principal_id = 'intake'`).Scan(&active, &all))
	require.Equal(t, 1, active)
	require.Equal(t, 1, all, "a restart issued intake another key")
}
