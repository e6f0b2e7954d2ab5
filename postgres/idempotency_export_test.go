package postgres

// ErrKeyTaken is errKeyTaken, for the tests of package postgres_test.
var ErrKeyTaken = errKeyTaken
