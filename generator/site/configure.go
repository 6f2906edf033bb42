package site

// SMTP is the mail relay a host site's Nuvla sends email through
// (cue/configure.cue smtp); its password is the secret SMTPPasswordSecret.
type SMTP struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	SSL      bool   `json:"ssl"`
	Username string `json:"username"`
}

// SMTPPasswordSecret is the secret that holds the SMTP user's password.
const SMTPPasswordSecret = "smtp_password"

// Snapshots are a host site's Elasticsearch snapshots to S3
// (cue/configure.cue snapshots).
type Snapshots struct {
	Repository string `json:"repository"`
	Bucket     string `json:"bucket"`
	BasePath   string `json:"basePath,omitempty"` // "": the site's name
	Endpoint   string `json:"endpoint,omitempty"` // "" for AWS's
	Protocol   string `json:"protocol"`
	Region     string `json:"region,omitempty"`
	PathStyle  bool   `json:"pathStyle"`
	Policy     string `json:"policy"`
	Schedule   string `json:"schedule"`
	Retention  struct {
		ExpireAfter string `json:"expireAfter"`
		MinCount    int    `json:"minCount"`
		MaxCount    int    `json:"maxCount"`
	} `json:"retention"`
}
